// Tries a TCP connection to host:port for each port (in parallel, each bounded by
// a timeout) and prints {"<port>": true|false} as JSON. Runs inside a client namespace.
const net = require("net");
const [host, portList, timeoutMs = "1500"] = process.argv.slice(2);
const ports = portList.split(",").map(Number);
Promise.all(
    ports.map(
        (port) =>
            new Promise((resolve) => {
                const s = net.connect({ host, port });
                let data = "";
                const done = (ok) => {
                    clearTimeout(t);
                    s.destroy();
                    resolve([port, ok]);
                };
                const t = setTimeout(() => done(false), Number(timeoutMs));
                s.on("data", (d) => {
                    data += d;
                    if (data.includes("\n")) done(data.startsWith(`open `));
                });
                s.on("error", () => done(false));
                s.on("end", () => done(data.startsWith("open ")));
            }),
    ),
).then((r) => console.log(JSON.stringify(Object.fromEntries(r))));
