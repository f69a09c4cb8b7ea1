// The policy pack (policy/) run by the real engine on a production stack's preview: mandatory
// violations stop it with their messages; a compliant stack previews cleanly. Nothing is created.
import * as path from "path";
import { freePort, REPO_ROOT, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(180_000);

let workspace: ThrowawayWorkspace;
const POLICY_PACK = path.join(REPO_ROOT, "policy");

beforeAll(() => {
    workspace = throwawayWorkspace();
});

afterAll(() => workspace?.dispose());

test("production without a standby and with too large an rpo is stopped by the guardrails; fixed, it previews", async () => {
    const stack = await workspace.createStack("prod", {
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort() } }),
        "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data") }),
        "stagewise:rpo": "6h",
    });
    const message = await stack.preview({ color: "never", policyPacks: [POLICY_PACK] }).then(
        () => "preview succeeded",
        (err: Error) => err.message,
    );
    expect(message).toMatch(/\[mandatory\]\s+production-has-a-standby[^\n]*\n[^\n]*\n\s+production has no standby: declare at least one under standbys/);
    expect(message).toMatch(/\[mandatory\]\s+rpo-within-maximum[^\n]*\n[^\n]*\n\s+rpo 6h accepts more data loss than the declared maximum 4h/);
    expect(message).not.toContain("production-servers-protected");

    await stack.setConfig("stagewise:rpo", { value: "4h" });
    await stack.setConfig("stagewise:standbys", { value: JSON.stringify({ "prod-hot": { tier: "hot", port: await freePort() } }) });
    const result = await stack.preview({ color: "never", policyPacks: [POLICY_PACK] });
    expect(result.stdout).not.toContain("mandatory");
    expect(result.changeSummary.create).toBeGreaterThan(0);
    await stack.workspace.removeStack("prod");
});
