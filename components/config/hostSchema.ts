// `hosts`: the other machines a stage's members run on, reached over SSH with a pinned host key. A
// member's `host` is a loopback address of the deploying machine or the name of one of these
// (hostRules.ts checks which). No Pulumi here.
import { isIP } from "net";
import { z } from "zod";
import { dataRootProblem, programFolder } from "./paths";
import { CONTROL, expect, HOST_NAME, OS_USER_NAME, secret, serverOsUserName, show, strictObject } from "./primitives";

/** An IPv4 or IPv6 address, or a DNS name. */
const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]+|[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*)$/;
/** A network pg_hba.conf accepts as an address: an IP address, or an IP network with its prefix length. */
export function networkProblem(text: string): string | undefined {
    const [address, prefix, ...rest] = text.split("/");
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    return family !== 0 && prefixOk && rest.length === 0 ? undefined : `${show(text)} is not an IP address or network (use e.g. "10.0.2.0/24" or "10.0.2.7")`;
}

/** A public key line as ssh-keyscan and /etc/ssh/ssh_host_*_key.pub print it (a comment after it is allowed). */
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]{32,}={0,3}( [^\n]*)?$/;

export const hostSchema = strictObject({
    /** Where the deployer reaches it (and where its servers listen): an IP address or a DNS name. */
    address: z.string({ error: expect("an address", 'use an IP address or a DNS name, e.g. "10.0.1.12"') }).refine((a) => ADDRESS.test(a), {
        error: (issue) => `${show(issue.input)} is not an address (use an IP address or a DNS name, e.g. "10.0.1.12")`,
    }),
    /** Its sshd's port. @default 22 */
    port: z
        .number({ error: expect("a port", "use a whole number from 1 to 65535") })
        .refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535, { error: (issue) => `${show(issue.input)} is not a port (use a whole number from 1 to 65535)` })
        .default(22),
    /** The SSH login user: root, or a user that may run programs as the servers' OS user (sudo -n). */
    user: z.string({ error: expect("a user name", 'use the SSH login user, e.g. "root"') }).refine((u) => OS_USER_NAME.test(u), {
        error: (issue) => `${show(issue.input)} is not a user name (use lower-case letters, digits, _ and -, e.g. "root")`,
    }),
    /** The private key the deployer logs in with (a secret: the whole `hosts` key is set with --secret). */
    privateKey: secret.refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k), {
        error: "is not a private key (give the key file's whole text, e.g. pulumi config set --secret --path hosts.<name>.privateKey < key)",
    }),
    /** The host's public key, pinned: a connection to a host presenting another key is refused. */
    hostKey: z.string({ error: expect("a host key", 'use the host\'s public key line, e.g. the output of ssh-keyscan -t ed25519 <address> without the address') }).refine((k) => HOST_KEY.test(k.trim()) && !CONTROL.test(k.trim()), {
        error: (issue) => `${show(issue.input)} is not a public host key (use its line, e.g. "ssh-ed25519 AAAAC3Nza..."; ssh-keyscan -t ed25519 <address> prints it)`,
    }),
    /** The OS user that runs the servers there. @default "postgres" for a root login, else the login user */
    osUser: serverOsUserName.optional(),
    /** Folder of the PostgreSQL programs there. @default the newest /usr/lib/postgresql/N/bin on that host */
    binDir: programFolder.optional(),
    /** Folder holding the servers' folders there (absolute). @default /var/lib/stagewise/<stack> */
    dataRoot: z
        .string({ error: expect("a folder", "use an absolute path") })
        .superRefine((text, ctx) => {
            const problem = text.startsWith("/") ? dataRootProblem(text) : `${show(text)} is not an absolute path (a folder on that host, e.g. "/srv/stagewise")`;
            if (problem !== undefined) {
                ctx.addIssue({ code: "custom", message: problem, input: text });
            }
        })
        .optional(),
    /**
     * Addresses or networks beyond the host's own subnets whose password (SCRAM) logins its servers
     * accept: the deploying machine, a DR site or staging hosts on other subnets. The stack's own
     * members on other subnets are admitted without it. @default []
     */
    admit: z
        .array(
            z.string({ error: expect("an address or network", 'use e.g. "10.0.2.0/24"') }).superRefine((text, ctx) => {
                const problem = networkProblem(text);
                if (problem !== undefined) {
                    ctx.addIssue({ code: "custom", message: problem, input: text });
                }
            }),
            { error: expect("a list of addresses or networks", 'use e.g. ["10.0.2.0/24"]') },
        )
        .optional(),
    /**
     * The host is gone or cut off, declared by the operator failing over: stagewise does not contact it.
     * Its members are left as recorded (never changed, fenced or deleted over SSH) and cannot be the
     * primary; remove it once the host is back, and `up` rejoins its former primary as a standby. @default false
     */
    lost: z.boolean({ error: expect("true or false", "set it to true while the host is gone or cut off, and remove it once it is back") }).optional(),
});
export type HostConfig = z.output<typeof hostSchema>;

export const hosts = z
    .record(z.string().regex(HOST_NAME), hostSchema, {
        error: (issue) =>
            issue.code === "invalid_key"
                ? "is not a host name (use lower-case letters, digits and -, starting with a letter)"
                : expect("a map of hosts", "use a map from host name to { address, user, privateKey, hostKey }")(issue),
    })
    .refine((map) => !("localhost" in map), { error: '"localhost" cannot name a host (it is the deploying machine; use another name)' })
    .default({});

