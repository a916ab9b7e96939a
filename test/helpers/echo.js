// Listens on the given TCP ports on every address (IPv4 and IPv6) and echoes back
// whatever each connection sends. Prints "listening" once ready. Runs inside a test
// network namespace; the test that starts it kills it.
const net = require("net");
const ports = process.argv.slice(2).map(Number);
let ready = 0;
for (const port of ports) {
    net.createServer((s) => s.on("error", () => {}).pipe(s)).listen({ port, host: "::", ipv6Only: false }, () => {
        if (++ready === ports.length) process.stdout.write("listening\n");
    });
}
