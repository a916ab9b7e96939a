// Tries one TCP connection per [source address, port] pair to host (all in
// parallel, each bounded by a timeout), binding the source address, and prints
// a JSON list of true|false in the same order. Runs inside a client namespace.
const net = require("net");
const [host, pairsJson, timeoutMs = "1500"] = process.argv.slice(2);
const pairs = JSON.parse(pairsJson);
Promise.all(
    pairs.map(
        ([localAddress, port]) =>
            new Promise((resolve) => {
                const s = net.connect({ host, port, localAddress });
                let data = "";
                const done = (ok) => {
                    clearTimeout(t);
                    s.destroy();
                    resolve(ok);
                };
                const t = setTimeout(() => done(false), Number(timeoutMs));
                s.on("data", (d) => {
                    data += d;
                    if (data.includes("\n")) done(data.startsWith(`open ${port}`));
                });
                s.on("error", () => done(false));
                s.on("end", () => done(data.startsWith(`open ${port}`)));
            }),
    ),
).then((r) => console.log(JSON.stringify(r)));
