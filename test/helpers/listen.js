// Listens on the given TCP ports on every address (IPv4 and IPv6) and answers each
// connection with "open <port>\n". Runs inside a test network namespace; the test
// that starts it kills it.
const net = require("net");
for (const port of process.argv.slice(2).map(Number)) {
    net.createServer((s) => s.end(`open ${port}\n`)).listen({ port, host: "::", ipv6Only: false });
}
setTimeout(() => process.stdout.write("listening\n"), 50);
