// Probes for certificate reload tests: what a new TLS connection is served, and one kept-alive
// connection that must survive a reload.
import { connect } from 'node:tls';
import { Client } from 'undici';

export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The serial of the certificate a new connection to `port` is served, or `refused` and why. */
export function servedSerial(port: number, tls: ClientTls): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...tls }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      // TLS 1.3 sends a refusal of the client certificate after the handshake: wait for it.
      socket.once('error', (err: Error & { code?: string }) => resolve(`refused: ${err.code ?? err.message}`));
      socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString(); });
      socket.once('end', () => resolve(answer.startsWith('HTTP/1.1') ? serial : 'refused: closed without an answer'));
    });
    socket.once('error', (err: Error & { code?: string }) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

/** One kept-alive connection; counts how often it had to connect. */
export function keptAlive(port: number, tls: ClientTls) {
  const client = new Client(`https://127.0.0.1:${String(port)}`, { connect: { servername: 'localhost', ...tls }, keepAliveTimeout: 600_000 });
  let connects = 0;
  client.on('connect', () => { connects += 1; });
  return {
    async status() {
      const res = await client.request({ path: '/healthz', method: 'GET' });
      await res.body.text();
      return res.statusCode;
    },
    connects: () => connects,
    close: () => client.close(),
  };
}
