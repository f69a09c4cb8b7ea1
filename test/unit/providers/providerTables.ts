// The table every provider's check and diff is held to: valid inputs pass, each bad input fails with
// its exact property and reason, replace-forcing inputs replace, in-place inputs only change, a preview
// placeholder changes nothing, and a new provider version is an update.
import type { ResourceDefinition } from "../../../components/providers/kit";
import { UNKNOWN } from "../../../components/providers/diffs";

export interface ProviderTable<In extends object, Out extends In> {
    /** Valid inputs as check returns them (defaults filled in). */
    inputs: In;
    /** What create recorded besides the inputs. */
    outputs: Partial<Out>;
    /** The defaults check fills in for inputs not given (asserted with them left out). */
    defaults?: Partial<In>;
    bad?: [string, Partial<In>, { property: string; reason: string }[]][];
    /** Changes that replace, with the inputs named in `replaces` (none: nothing replaces it). */
    replacing: [string, Partial<In>, string[]][];
    /** Changes made in place, with the inputs the comparison names. */
    inPlace: [string, Partial<In>, string[]][];
    /** Inputs that arrive as a preview placeholder. */
    placeholders: (keyof In & string)[];
    /**
     * What the diff's own rules always find here, in a unit test with nothing running (a server,
     * a unit): then `changes` is always true and the comparison of inputs is asserted on its own.
     */
    drift?: boolean;
}

export function providerTable<In extends object, Out extends In>(definition: ResourceDefinition<In, Out>, table: ProviderTable<In, Out>): void {
    const provider = definition.provider;
    const state = { ...table.inputs, ...table.outputs } as Out;
    const diff = (change: Partial<In>) => provider.diff!("id", state, { ...table.inputs, ...change });

    test("check passes valid inputs", async () => {
        expect(await provider.check!({} as In, table.inputs)).toEqual({ inputs: table.inputs, failures: [] });
    });

    if (table.defaults) {
        const defaults = table.defaults;
        test("check fills in the defaults of inputs not given", async () => {
            const given = Object.fromEntries(Object.entries(table.inputs).filter(([key]) => !(key in defaults))) as In;
            expect(await provider.check!({} as In, given)).toEqual({ inputs: { ...given, ...defaults }, failures: [] });
        });
    }

    if (table.bad?.length) {
        test.each(table.bad)("check refuses %s", async (_name, change, failures) => {
            expect((await provider.check!(state, { ...table.inputs, ...change })).failures).toEqual(failures);
        });
    }

    if (table.replacing.length) {
        test.each(table.replacing)("diff: %s replaces", async (_name, change, replaces) => {
            expect(await diff(change)).toMatchObject({ changes: true, replaces });
        });
    }

    test.each(table.inPlace)("diff: %s is an update in place", async (_name, change, changed) => {
        expect(await diff(change)).toMatchObject({ changes: true, replaces: [] });
        expect(definition.compareInputs(state, { ...table.inputs, ...change })).toEqual({ changed, replaced: [] });
    });

    test.each(table.placeholders)("diff: a preview placeholder for %s changes nothing", async (key) => {
        const change = { [key]: UNKNOWN } as Partial<In>;
        expect(definition.compareInputs(state, { ...table.inputs, ...change })).toEqual({ changed: [], replaced: [] });
        expect(await diff(change)).toMatchObject({ changes: table.drift === true, replaces: [] });
    });

    test("diff: a new provider version is an update", async () => {
        const change = { providerVersion: "999" } as unknown as Partial<In>;
        expect(await diff(change)).toMatchObject({ changes: true, replaces: [] });
        expect(definition.compareInputs(state, { ...table.inputs, ...change })).toEqual({ changed: ["providerVersion"], replaced: [] });
    });

    test(table.drift ? "diff: unchanged inputs compare equal, and the missing live thing is drift" : "diff: unchanged inputs are no change", async () => {
        expect(definition.compareInputs(state, table.inputs)).toEqual({ changed: [], replaced: [] });
        expect(await diff({})).toMatchObject({ changes: table.drift === true, replaces: [] });
    });
}
