// A stand-in for Cloudflare's trace endpoint on 127.0.0.1 (port 0) inside a test
// namespace: answers every request with `ip=<argv[2]>` in the trace format, and
// prints its URL once it listens.
const http = require("http");
const ip = process.argv[2];
const server = http.createServer((_, res) => res.writeHead(200, { "content-type": "text/plain" }).end(`fl=1f1\nh=www.cloudflare.com\nip=${ip}\nts=1795874289.1\nvisit_scheme=https\n`));
server.listen(0, "127.0.0.1", () => process.stdout.write(`http://127.0.0.1:${server.address().port}/cdn-cgi/trace\n`));
