// Holds one TCP connection to host:port open and sends a line every 10 ms; the
// server echoes it. Prints "connected" once connected; for each line on stdin,
// prints {"echoes": n, "lastEcho": <epoch ms of the last echo>} as JSON. Exits
// when stdin closes. Runs inside a client namespace.
const net = require("net");
const [host, port] = process.argv.slice(2);
let echoes = 0;
let lastEcho = 0;
const s = net.connect({ host, port: Number(port) }, () => {
    process.stdout.write("connected\n");
    setInterval(() => s.write("x\n"), 10);
});
s.on("data", (d) => {
    echoes += String(d).split("\n").length - 1;
    lastEcho = Date.now();
});
s.on("error", (e) => process.stdout.write(`error ${e.message}\n`));
let buf = "";
process.stdin.on("data", (d) => {
    buf += d;
    while (buf.includes("\n")) {
        buf = buf.slice(buf.indexOf("\n") + 1);
        process.stdout.write(JSON.stringify({ echoes, lastEcho }) + "\n");
    }
});
process.stdin.on("end", () => process.exit(0));
