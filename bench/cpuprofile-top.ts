// Profiling aid: the functions with the most self time in a V8 .cpuprofile (node --cpu-prof),
// summed over every node of the same function, with their share of the sampled time.
// Usage: tsx bench/cpuprofile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export function topSelfTime(file: string, n = 30): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = byNode.get(node.id) ?? 0;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^file:\/\/.*?\/(node_modules|wt-[a-z]+)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const idle = [...byFunction].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  return [...byFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`).join('\n')
    + `\n(busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled)`;
}

if (process.argv[1]?.endsWith('cpuprofile-top.ts')) {
  process.stdout.write(`${topSelfTime(process.argv[2]!, Number(process.argv[3] ?? 30))}\n`);
}
