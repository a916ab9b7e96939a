// Listens for UDP on [::]:<port> and prints one line per datagram received:
// "<source address> <source port> <text>". Prints "listening" once bound.
const dgram = require("dgram");
const s = dgram.createSocket({ type: "udp6", ipv6Only: false });
s.on("message", (msg, r) => process.stdout.write(`${r.address} ${r.port} ${msg}\n`));
s.bind(Number(process.argv[2]), "::", () => process.stdout.write("listening\n"));
