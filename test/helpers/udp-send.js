// Sends one UDP datagram `text` from [<source>]:<sourcePort> to [<host>]:<port>
// (addresses may carry a %interface zone), then exits.
const dgram = require("dgram");
const [source, sourcePort, host, port, text] = process.argv.slice(2);
const s = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
s.bind(Number(sourcePort), source, () => s.send(text, Number(port), host, (e) => (s.close(), e ? (console.error(e.message), process.exit(1)) : undefined)));
