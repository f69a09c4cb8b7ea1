// The Markdown a pull request carries for one stage's `pulumi preview --diff`, written the way the
// standard Pulumi GitHub action (pulumi/actions, comment-on-pr) writes its comment, so what
// `npm run preview` prints locally is what reviewers see on the pull request.

/** GitHub refuses comments over 65,535 characters; the action keeps a margin the same way. */
export const MAX_COMMENT_OUTPUT = 64_000;

// Colour and cursor escapes: GitHub shows them as garbage.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export interface PreviewComment {
    /** e.g. "preview" */
    command: string;
    /** The Pulumi project's name (Pulumi.yaml). */
    project: string;
    stack: string;
    /** The engine's output, as printed. */
    output: string;
}

/** The first line of the comment; the action finds its own earlier comment by it. */
export function commentHeading(c: Pick<PreviewComment, "command" | "project" | "stack">): string {
    return `#### :tropical_drink: \`${c.command}\` on ${c.project}/${c.stack}`;
}

export function previewCommentMarkdown(c: PreviewComment): string {
    let output = c.output.replace(ANSI, "").trimEnd();
    const trimmed = output.length > MAX_COMMENT_OUTPUT;
    if (trimmed) {
        // The summary at the end ("Resources: ...") matters most: keep the tail.
        output = output.slice(output.length - MAX_COMMENT_OUTPUT);
    }
    return [
        commentHeading(c),
        "",
        "<details>",
        "<summary>Pulumi report</summary>",
        ...(trimmed ? ["", ":warning: **Warn**: The output was too long and trimmed from the front."] : []),
        "<pre>",
        output,
        "</pre>",
        "</details>",
        "",
    ].join("\n");
}
