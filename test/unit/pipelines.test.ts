// The pull-request comment `npm run preview` prints: the standard Pulumi action's layout, exactly.
import * as fs from "fs";
import * as path from "path";
import { MAX_COMMENT_OUTPUT, previewCommentMarkdown } from "../../pipelines/previewComment";
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
