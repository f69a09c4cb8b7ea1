import { redirectionRunbook, sameSubnet } from "../../../components/standby/hot/redirection";

describe("sameSubnet", () => {
    test.each<[string[], boolean]>([
        [["127.0.0.1", "127.0.0.1"], true],
        [["127.0.0.1", "localhost", "::1"], true],
        [["10.1.2.3", "10.1.2.200"], true],
        [["10.1.2.3", "10.1.3.3"], false],
        [["192.168.0.10", "192.168.0.11", "192.168.1.10"], false],
        [["db-a.example", "db-a.example"], true],
        [["db-a.example", "db-b.example"], false],
        [["10.1.2.3", "db-b.example"], false],
    ])("%j → %s", (hosts, expected) => {
        expect(sameSubnet(hosts)).toBe(expected);
    });
});

describe("redirectionRunbook", () => {
    test("names the new primary's address, the former members and the databases, in order", () => {
        expect(
            redirectionRunbook(
                { name: "prod-hot", host: "10.2.0.5", port: 5432 },
                [{ name: "prod-db", host: "10.1.0.5", port: 5432 }],
                ["work", "business", "config"],
            ),
        ).toEqual([
            "1. Confirm prod-hot at 10.2.0.5:5432 accepts writes: SELECT pg_is_in_recovery() returns false.",
            "2. Confirm no other member accepts writes (prod-db (10.1.0.5:5432)): each is stopped or answers pg_is_in_recovery() = true; stop any that does not before going on.",
            "3. Stop the engine units and every client that writes, so none keeps writing to a former primary.",
            "4. Redirect the engine's clients to 10.2.0.5:5432: the databases work, business, config (connection strings, ODBC data sources, engine configuration files).",
            "5. Redirect the peripheral devices and reporting tools that reach the database server by address or name to 10.2.0.5.",
            "6. Update references to the old machine names (DNS records, hosts files, firewall rules) so prod-hot is found under the name clients use.",
            "7. Start the engine units and clients again, and check one write and one read through the new address.",
        ]);
    });
});
