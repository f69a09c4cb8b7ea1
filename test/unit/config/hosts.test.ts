// `hosts` (components/config/hostSchema.ts): each field's problems in the user's terms, a private
// key never echoed and never in plain text, and a member naming a declared host.
import { parseStageConfig } from "../../../components/config/problems";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET-KEY-BODY\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0Xz4oY5dGv1r5l2cJt7mJb2m4b0rYV1c6x0nKp8n0Q";
const good = { address: "127.77.1.2", user: "root", privateKey: KEY, hostKey: HOST_KEY };
const stack = (hosts: unknown, server: Record<string, unknown> = { port: 15432, host: "a" }) => ({
    "stagewise:stage": "production",
    "stagewise:servers": JSON.stringify({ "prod-db": server }),
    "stagewise:hosts": JSON.stringify(hosts),
});
const secret = new Set(["stagewise:hosts"]);

test("a declared host is accepted with its defaults, and a member names it", () => {
    const result = parseStageConfig(stack({ a: good }), secret);
    expect(result.ok && result.config.hosts).toEqual({ a: { ...good, port: 22 } });
    expect(result.ok && result.config.servers["prod-db"].host).toBe("a");
});

test.each([
    ["an address that is none", { a: { ...good, address: "not an address!" } }, ['hosts.a.address: "not an address!" is not an address (use an IP address or a DNS name, e.g. "10.0.1.12")']],
    ["a port out of range", { a: { ...good, port: 70000 } }, ["hosts.a.port: 70000 is not a port (use a whole number from 1 to 65535)"]],
    ["a missing user", { a: { ...good, user: undefined } }, ['hosts.a.user: missing (use the SSH login user, e.g. "root")']],
    ["a private key that is no key", { a: { ...good, privateKey: "hunter2" } }, ["hosts.a.privateKey: is not a private key (give the key file's whole text, e.g. pulumi config set --secret --path hosts.<name>.privateKey < key)"]],
    ["a host key that is no key", { a: { ...good, hostKey: "AAAA" } }, ['hosts.a.hostKey: "AAAA" is not a public host key (use its line, e.g. "ssh-ed25519 AAAAC3Nza..."; ssh-keyscan -t ed25519 <address> prints it)']],
    ["root as the servers' user", { a: { ...good, osUser: "root" } }, ['hosts.a.osUser: "root" cannot run the servers (PostgreSQL refuses to run as root; use an unprivileged user such as "postgres")']],
    ["a relative data root", { a: { ...good, dataRoot: "data" } }, ['hosts.a.dataRoot: "data" is not an absolute path (a folder on that host, e.g. "/srv/stagewise")']],
    ["lost that is no boolean", { a: { ...good, lost: "yes" } }, ['hosts.a.lost: "yes" is not true or false (set it to true while the host is gone or cut off, and remove it once it is back)']],
    ["an admitted network with a prefix too long", { a: { ...good, admit: ["10.0.2.0/33"] } }, ['hosts.a.admit[0]: "10.0.2.0/33" is not an IP address or network (use e.g. "10.0.2.0/24" or "10.0.2.7")']],
    ["an admitted host name", { a: { ...good, admit: ["10.0.2.7", "dr.example.com"] } }, ['hosts.a.admit[1]: "dr.example.com" is not an IP address or network (use e.g. "10.0.2.0/24" or "10.0.2.7")']],
    ["admit that is no list", { a: { ...good, admit: "10.0.2.0/24" } }, ['hosts.a.admit: "10.0.2.0/24" is not a list of addresses or networks (use e.g. ["10.0.2.0/24"])']],
    ["an unknown key", { a: { ...good, password: "x" } }, ["hosts.a.password: unknown key (allowed: address, port, user, privateKey, hostKey, osUser, binDir, dataRoot, admit, lost)"]],
    ["localhost as a name", { localhost: good }, ['hosts: "localhost" cannot name a host (it is the deploying machine; use another name)']],
])("refuses %s", (_name, hosts, problems) => {
    const result = parseStageConfig(stack(hosts, { port: 15432 }), secret);
    expect(result).toEqual({ ok: false, problems });
});

test("admitted addresses and networks, IPv4 and IPv6, are kept as given", () => {
    const admit = ["10.0.2.0/24", "10.0.3.7", "fd00::/64", "fd00::7"];
    const result = parseStageConfig(stack({ a: { ...good, admit } }), secret);
    expect(result.ok && result.config.hosts.a.admit).toEqual(admit);
});

test("private keys in plain text are refused, and no message quotes one", () => {
    const result = parseStageConfig(stack({ a: good }), new Set());
    expect(result).toEqual({ ok: false, problems: ["hosts: holds private keys in plain text (set each with: pulumi config set --secret --path hosts.<name>.privateKey < <key file>)"] });
    expect(JSON.stringify(parseStageConfig(stack({ a: { ...good, privateKey: "SECRET-KEY-BODY" } }), secret))).not.toContain("SECRET-KEY-BODY");
});

test("a member naming an undeclared host", () => {
    expect(parseStageConfig(stack({ a: good }, { port: 15432, host: "b" }), secret)).toEqual({
        ok: false,
        problems: ['servers.prod-db.host: "b" is not one of hosts (declared: a; declare it as hosts.b with address, user, privateKey and hostKey)'],
    });
});

test("a staging stage on a host may copy from production", () => {
    const result = parseStageConfig(
        {
            "stagewise:stage": "test",
            "stagewise:servers": JSON.stringify({ "test-db": { port: 15432, host: "a" } }),
            "stagewise:hosts": JSON.stringify({ a: good }),
            "stagewise:production": JSON.stringify({ stack: "organization/stagewise/prod" }),
            "stagewise:copy": JSON.stringify({ trigger: "1" }),
        },
        secret,
    );
    expect(result.ok && result.config.copy).toEqual({ trigger: "1", waitSeconds: 0 });
});
