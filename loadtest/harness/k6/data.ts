// k6/data (the harness's subset): SharedArray, built once per virtual user here (k6 shares one);
// like k6's, it is read-only.
export class SharedArray<T> {
  [index: number]: T;

  constructor(name: string, build: () => T[]) {
    if (typeof build !== 'function') throw new Error(`SharedArray ${name}: needs a function`);
    // A constructor that returns an object makes `new` answer it: a frozen array, as k6's behaves.
    return Object.freeze([...build()]) as unknown as SharedArray<T>;
  }
}

export default { SharedArray };
