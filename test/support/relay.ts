import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP relay on loopback that can "freeze": existing connections stay open but no
 * byte crosses in either direction (a peer that stopped answering, not one that closed).
 */
export interface Relay {
  readonly port: number;
  /** Freezes every connection open now; later connections pass normally. */
  freeze(): void;
  close(): void;
}

interface Pair {
  upstream?: Socket<Pair>;
  client?: Socket<Pair>;
  frozen: boolean;
  pending: Uint8Array[];
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const pairs = new Set<Pair>();
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const pair: Pair = { client, frozen: false, pending: [] };
        client.data = pair;
        pairs.add(pair);
        pair.upstream = await Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: targetPort,
          data: pair,
          socket: {
            data(_s, chunk) {
              if (!pair.frozen) pair.client?.write(chunk);
            },
            close() {
              if (!pair.frozen) pair.client?.end();
            },
            error() {},
          },
        });
        for (const chunk of pair.pending.splice(0)) pair.upstream.write(chunk);
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.frozen) return;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        const pair = client.data;
        pairs.delete(pair);
        if (!pair.frozen) pair.upstream?.end();
      },
      error() {},
    },
  });
  return {
    port: listener.port,
    freeze() {
      for (const p of pairs) p.frozen = true;
    },
    close() {
      for (const p of pairs) {
        p.upstream?.terminate();
        p.client?.terminate();
      }
      listener.stop(true);
    },
  };
}
