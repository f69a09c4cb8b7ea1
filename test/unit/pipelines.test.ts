// The pull-request comment `npm run preview` prints: the standard Pulumi action's layout, exactly.
import * as fs from "fs";
import * as path from "path";
import { parseStageConfig } from "../../components/config/problems";
import { MAX_COMMENT_OUTPUT, previewCommentMarkdown } from "../../pipelines/previewComment";
import { topologyDiagram } from "../../pipelines/topology";
import { MAIN_JOB_STACKS } from "../../scripts/stages";

test("a preview becomes the action's comment: heading, collapsed report, output without colour codes", () => {
    const output = "Previewing update (prod):\n\u001b[1m~ stagewise:index:Stage: (update)\u001b[0m\nResources:\n    1 unchanged\n\n";
    expect(previewCommentMarkdown({ command: "preview", project: "stagewise", stack: "prod", output })).toBe(
        [
            "#### :tropical_drink: `preview` on stagewise/prod",
            "",
            "<details>",
            "<summary>Pulumi report</summary>",
            "<pre>",
            "Previewing update (prod):",
            "~ stagewise:index:Stage: (update)",
            "Resources:",
            "    1 unchanged",
            "</pre>",
            "</details>",
            "",
        ].join("\n"),
    );
});

test("an output too long for a comment keeps its end (the summary) and says it was trimmed", () => {
    const output = `${"x".repeat(MAX_COMMENT_OUTPUT)}\nResources:\n    2 to update`;
    const markdown = previewCommentMarkdown({ command: "preview", project: "stagewise", stack: "test", output });
    expect(markdown).toContain(":warning: **Warn**: The output was too long and trimmed from the front.");
    expect(markdown).toContain("Resources:\n    2 to update\n</pre>");
    const pre = markdown.slice(markdown.indexOf("<pre>\n") + 6, markdown.indexOf("\n</pre>"));
    expect(pre.length).toBe(MAX_COMMENT_OUTPUT);
});

test("the pull-request workflow previews exactly the stages the main job brings up, with the standard action", () => {
    const workflow = fs.readFileSync(path.join(__dirname, "../../.github/workflows/preview.yml"), "utf8");
    expect(/^\s+stack: \[(.*)\]$/m.exec(workflow)?.[1].split(", ")).toEqual(MAIN_JOB_STACKS);
    expect(workflow).toMatch(/uses: pulumi\/actions@v6\n\s+with:\n\s+command: preview\n\s+stack-name: \$\{\{ matrix.stack \}\}\n\s+diff: true\n\s+comment-on-pr: true\n/);
});

describe("topology diagram", () => {
    const configOf = (raw: Record<string, unknown>) => {
        const parsed = parseStageConfig(
            Object.fromEntries(Object.entries(raw).map(([k, v]) => [`stagewise:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
            new Set(["stagewise:licenseKey"]),
        );
        if (!parsed.ok) {
            throw new Error(parsed.problems.join("\n"));
        }
        return parsed.config;
    };

    test("production with a hot standby, and a test stage bound to it that holds a lock and copies", () => {
        const prod = configOf({ stage: "production", servers: { "prod-db": { port: 55432 } }, standbys: { "prod-hot": { tier: "hot", port: 55433 } } });
        const test = configOf({
            stage: "test",
            servers: { "test-db": { port: 55442 } },
            production: { stack: "organization/stagewise/prod" },
            locks: { copy: { reason: 'refresh "test" <weekly>' } },
            copy: { trigger: "1" },
        });
        expect(
            topologyDiagram([
                { stack: "prod", qualifiedName: "organization/stagewise/prod", config: prod },
                { stack: "test", qualifiedName: "organization/stagewise/test", config: test },
            ]),
        ).toBe(
            [
                "flowchart LR",
                '    subgraph stack__prod["prod: production"]',
                '        prod__prod_db[("prod-db<br/>127.0.0.1:55432<br/>primary")]',
                '        prod__prod_hot[("prod-hot<br/>127.0.0.1:55433<br/>hot standby")]',
                "    end",
                '    subgraph stack__test["test: test"]',
                '        test__test_db[("test-db<br/>127.0.0.1:55442")]',
                "    end",
                '    prod__prod_db ==>|"streaming"| prod__prod_hot',
                '    test__test_db -->|"lock binding"| prod__prod_db',
                '    test__test_db -.->|"holds lock copy<br/>refresh #quot;test#quot; #lt;weekly#gt;"| prod__prod_db',
                '    prod__prod_db ==>|"copy, under the copy lock"| test__test_db',
            ].join("\n"),
        );
    });

    test("a DR site draws the WAL shipped from production's archive, and whether it stands by or cut over", () => {
        const prod = configOf({ stage: "production", servers: { "prod-db": { port: 55432 } }, shipping: { logBackupInterval: "1h", shipInterval: "1h" } });
        const dr = configOf({ stage: "production", servers: { "prod-db": { port: 55462 } }, disasterRecovery: { of: "organization/stagewise/prod", tier: "warm" }, licenseKey: "LIC-DR" });
        const lines = topologyDiagram([
            { stack: "prod", qualifiedName: "organization/stagewise/prod", config: prod },
            { stack: "dr", qualifiedName: "organization/stagewise/dr", config: dr },
        ]).split("\n");
        expect(lines).toContain('        prod__wal_archive[["WAL archive<br/>log backup every 1h"]]');
        expect(lines).toContain('        dr__prod_db[("prod-db<br/>127.0.0.1:55462<br/>DR site (warm), standing by")]');
        expect(lines).toContain('    prod__wal_archive -.->|"WAL shipped every 1h<br/>applied after 3h"| dr__prod_db');
    });

    test("a staging stage alone draws the production it names as an outside node", () => {
        const dev = configOf({ stage: "development", servers: { "dev-db": { port: 55452 } }, production: { stack: "acme/stagewise/prod" } });
        expect(topologyDiagram([{ stack: "dev", qualifiedName: "acme/stagewise/dev", config: dev }]).split("\n").slice(1)).toEqual([
            '    subgraph stack__dev["dev: development"]',
            '        dev__dev_db[("dev-db<br/>127.0.0.1:55452")]',
            "    end",
            '    external__acme_stagewise_prod[("acme/stagewise/prod")]',
            '    dev__dev_db -->|"lock binding"| external__acme_stagewise_prod',
        ]);
    });
});
