// Backup sets of a server on another machine (a namespace host with its own sshd and private data
// folder, test/harness/testHosts.ts), the sets beside it on that host: a project file of the deployer
// travels into the set and back, and a restore killed mid-way (kill -9 after the swap) is rolled back
// on the host.
import * as fs from "fs";
import * as path from "path";
import { listBackupSets, recoverInterruptedRestore, restoreBackupSet, takeBackupSet, BackupSetRequest, StageServerRef } from "../../components/backup/backupSets";
import { bootstrap, connect, ClusterLocation } from "../../components/postgres/cluster";
import { findPostgresBinDir, hostOf } from "../../components/platform/local";
import { engineBootstrap, runCluster, tempDir } from "../harness/postgres";
import { restoreHeldAfterSwap } from "../harness/restoreInChild";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

const SUPER = "superuser-pw";

describeWithTestHosts("backup sets on a remote host", () => {
    let hosts: TestHosts;
    let loc: ClusterLocation;
    let request: BackupSetRequest;
    let server: StageServerRef;
    let local: string;
    let configFile: string;

    const documents = async () => {
        const client = await connect(loc, SUPER, "business");
        try {
            return (await client.query(`SELECT "Reference" AS r FROM "Business"."Document" ORDER BY 1`)).rows.map((row) => row.r as string);
        } finally {
            await client.end();
        }
    };
    const insert = async (reference: string) => {
        const client = await connect(loc, SUPER, "business");
        try {
            await client.query(`INSERT INTO "Business"."Document" ("Reference") VALUES ($1)`, [reference]);
        } finally {
            await client.end();
        }
    };

    beforeAll(async () => {
        hosts = await startTestHosts(1);
        const a = hosts.hosts[0];
        const machine = { name: "a", address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey };
        loc = { binDir: findPostgresBinDir(undefined), serverDir: `${a.dataFolder}/dev/dev-db`, host: a.address, port: 5432, osUser: "postgres", machine };
        hostOf(loc).makeFolder(loc.serverDir);
        runCluster(loc, SUPER);
        await bootstrap(loc, SUPER, engineBootstrap("engine-pw"));
        local = tempDir("stagewise-remote-sets-");
        configFile = path.join(local, "engine.json");
        fs.writeFileSync(configFile, '{"version": 1}\n', { mode: 0o640 });
        server = { name: "dev-db", loc, superuserPassword: SUPER, databases: ["work", "business", "config"] };
        request = { setsDir: `${a.dataFolder}/dev/backups`, setsMachine: machine, mode: "online", servers: [server], configFiles: [configFile], units: [], ownerRole: "engine" };
    });
    afterAll(async () => {
        if (local) fs.rmSync(local, { recursive: true, force: true });
        await hosts?.stop(); // every process in the hosts ends with them
    });

    test("a set is taken on the host, the deployer's file inside it; a restore brings rows and file back", async () => {
        await insert("at-the-backup");
        const backup = await takeBackupSet(request);
        expect(backup).toMatchObject({ mode: "online", safety: false, verified: true, servers: { "dev-db": expect.stringMatching(/^servers\/dev-db\/\d{8}T\d{9}Z\/pgdata$/) } });
        const inSet = `${request.setsDir}/${backup.id}/config/${configFile.replace(/^\/+/, "").replace(/\//g, "__")}`;
        expect(hosts.ssh("a", `cat ${inSet}; stat -c %a ${inSet}`)).toBe('{"version": 1}\n640\n');
        expect(fs.existsSync(request.setsDir)).toBe(false); // the host's own folder
        expect(listBackupSets(request.setsDir, request.setsMachine).map((s) => s.id)).toEqual([backup.id]);

        await insert("after-the-backup");
        fs.writeFileSync(configFile, '{"version": 2}\n');
        const report = await restoreBackupSet({ ...request, id: backup.id });
        expect(report).toMatchObject({ backup: backup.id });
        expect(await documents()).toEqual(["at-the-backup"]);
        expect(fs.readFileSync(configFile, "utf8")).toBe('{"version": 1}\n');
        expect(listBackupSets(request.setsDir, request.setsMachine).find((s) => s.id === report.safetyBackup)).toMatchObject({ safety: true, verified: true });
        expect(hosts.ssh("a", `ls -A ${request.setsDir}`).trim().split("\n").sort()).toEqual([backup.id, report.safetyBackup].sort());
    });

    test("a restore killed after the swap is rolled back on the host: the previous data returns intact", async () => {
        const backup = listBackupSets(request.setsDir, request.setsMachine).filter((s) => !s.safety)[0];
        await insert("before-the-killed-restore");
        const before = await documents();
        const driver = await restoreHeldAfterSwap({ ...request, id: backup.id }, "dev-db");
    driver.kill("SIGKILL");
        expect(hosts.ssh("a", `ls ${loc.serverDir}`)).toContain("pgdata.before-restore");

        expect(recoverInterruptedRestore(request.setsDir, [server], () => undefined, request.setsMachine)).toEqual(["dev-db"]);
        expect(await documents()).toEqual(before);
        expect(hosts.ssh("a", `ls -A ${request.setsDir}`)).not.toContain("restore-journal.json");
        expect(hosts.ssh("a", `ls ${loc.serverDir}`)).not.toContain("pgdata.before-restore");
    });
});
