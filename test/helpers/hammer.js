// Connects to host:port again and again, one connection after another, each
// bounded by `timeoutMs`, until its stdin closes (the test tells it to stop, or
// goes away). Prints "started" once a first connection has answered, then "+" or
// "-" per connection, and at the end a line {"attempts": n, "failed": n}. A
// connection counts as failed unless the listener's "open <port>" line arrives.
// Runs in a client namespace.
const net = require("net");
const [host, port, timeoutMs = "5000"] = process.argv.slice(2);
let stopping = false;
process.stdin.on("end", () => (stopping = true)).resume();
let failed = 0;
let attempts = 0;
const once = () =>
    new Promise((resolve) => {
        attempts++;
        const s = net.connect({ host, port: Number(port) });
        const done = (ok) => {
            clearTimeout(t);
            s.destroy();
            if (!ok) failed++;
            resolve(ok);
        };
        const t = setTimeout(() => done(false), Number(timeoutMs));
        s.once("data", (d) => done(String(d).startsWith("open ")));
        s.once("error", () => done(false));
    });
(async () => {
    // The first connection proves the path works before anything is counted.
    while (!stopping && !(await once())) attempts = failed = 0;
    attempts = failed = 0;
    process.stdout.write("started\n");
    while (!stopping) process.stdout.write((await once()) ? "+" : "-");
    process.stdout.write(`\n${JSON.stringify({ attempts, failed })}\n`);
})();
