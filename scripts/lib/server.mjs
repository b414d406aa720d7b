// Shared by the demo and the benchmarks: waiting for a started panda-server to say where it listens.

/** Resolves with the URL panda-server prints once it listens; rejects if it exits first. */
export function listeningUrl(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`panda-server exited with ${code} before listening`)));
  });
}
