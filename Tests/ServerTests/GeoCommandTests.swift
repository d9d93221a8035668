import Foundation
import Ring
import TestSupport
import Testing

/// GEOADD … GEOSEARCHSTORE on the RocksDB engine against a real redis-server 7.0, reply for
/// reply (scores, distances, coordinates, hashes and the order of results), including the
/// sorted set the geo commands leave behind (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct GeoCommandTests {
    static let script: [[String]] = [
        // GEOADD: options, errors, and the scores it stores
        ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
        ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"], ["GEOADD", "Sicily", "CH", "13.4", "38.1", "Palermo"],
        ["GEOADD", "Sicily", "NX", "13.5", "38.2", "Palermo", "12.5", "37.8", "Marsala"], ["GEOADD", "Sicily", "XX", "CH", "13.361389", "38.115556", "Palermo", "1", "1", "Nowhere"],
        ["GEOADD", "Sicily", "XX", "NX", "1", "1", "x"], ["GEOADD", "Sicily", "1", "1"], ["GEOADD", "Sicily", "GT", "1", "1", "x"],
        ["GEOADD", "Sicily", "CH", "CH", "CH"], ["GEOADD", "Sicily", "NX", "CH", "XX"],
        ["GEOADD", "bad", "200", "10", "x"], ["GEOADD", "bad", "10", "86", "x"], ["GEOADD", "bad", "-180.0001", "0", "x"],
        ["GEOADD", "bad", "abc", "10", "x"], ["GEOADD", "bad", "10", "", "x"], ["GEOADD", "bad", "1e400", "1", "x"], ["EXISTS", "bad"],
        ["GEOADD", "bad", "1", "1", "ok", "500", "1", "no"], ["EXISTS", "bad"],
        ["GEOADD", "edges", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0", "origin", "-0", "-0", "negzero"],
        ["ZRANGE", "edges", "0", "-1", "WITHSCORES"], ["GEOPOS", "edges", "ne", "sw", "origin", "negzero"], ["GEOHASH", "edges", "ne", "sw", "origin"],
        ["GEOADD"], ["GEOADD", "k"], ["GEOADD", "k", "1", "2"],
        // GEOPOS, GEOHASH, GEODIST
        ["GEOPOS", "Sicily", "Palermo", "Catania", "missing"], ["GEOPOS", "Sicily"], ["GEOPOS", "none", "a", "b"],
        ["GEOHASH", "Sicily", "Palermo", "Catania", "missing"], ["GEOHASH", "Sicily"], ["GEOHASH", "none", "a"],
        ["GEODIST", "Sicily", "Palermo", "Catania"], ["GEODIST", "Sicily", "Palermo", "Catania", "km"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "MI"], ["GEODIST", "Sicily", "Palermo", "Catania", "ft"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "m"], ["GEODIST", "Sicily", "Palermo", "Catania", "yards"],
        ["GEODIST", "Sicily", "Palermo", "Catania", "km", "extra"], ["GEODIST", "Sicily", "Palermo", "missing"],
        ["GEODIST", "none", "a", "b"], ["GEODIST", "none", "a", "b", "parsec"], ["GEODIST", "Sicily", "Palermo", "Palermo"],
        // Geo commands read any sorted set; wrong types
        ["ZADD", "plain", "0", "zero", "1", "one", "4503599627370495", "top", "-1", "minus", "1.5", "frac", "1e20", "huge"],
        ["GEOPOS", "plain", "zero", "one", "top", "minus", "frac", "huge"], ["GEOHASH", "plain", "zero", "one", "top"],
        ["GEODIST", "plain", "zero", "top"], ["GEORADIUS", "plain", "0", "0", "100", "km", "WITHHASH"],
        ["SET", "str", "x"], ["GEOADD", "str", "1", "1", "a"], ["GEOPOS", "str", "a"], ["GEOHASH", "str", "a"], ["GEODIST", "str", "a", "b"],
        ["GEORADIUS", "str", "0", "0", "1", "km"], ["GEORADIUSBYMEMBER", "str", "a", "1", "km"], ["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ["GEOSEARCHSTORE", "dst", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"], ["GEORADIUS", "str", "x", "0", "1", "km"],
        // GEORADIUS and GEORADIUSBYMEMBER with every option
        ["GEOADD", "Sicily", "13.583333", "37.316667", "Agrigento", "15.554611", "38.193889", "Messina", "14.015", "37.49", "Caltanissetta"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH", "ASC"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "COUNT", "2"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "2", "DESC"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-1"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "parsec"], ["GEORADIUS", "Sicily", "15", "37", "-1", "km"],
        ["GEORADIUS", "Sicily", "15", "37", "x", "km"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "BOGUS"],
        ["GEORADIUS", "Sicily", "15", "37", "0", "km"], ["GEORADIUS", "Sicily", "15.087269", "37.502669", "0", "m"],
        ["GEORADIUS", "Sicily", "15", "37", "10", "mi"], ["GEORADIUS", "Sicily", "15", "37", "100000", "ft", "WITHDIST"],
        ["GEORADIUS", "Sicily", "15", "37", "20000", "km", "WITHDIST"], ["GEORADIUS", "Sicily", "15", "37", "inf", "km"],
        ["GEORADIUS", "Sicily", "200", "37", "200", "km"], ["GEORADIUS", "none", "15", "37", "200", "km"], ["GEORADIUS", "none", "200", "37", "200", "km"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "stored"], ["ZRANGE", "stored", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "stored", "COUNT", "2"], ["ZRANGE", "stored", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "stored", "WITHDIST"],
        ["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "stored"], ["EXISTS", "stored"],
        ["SET", "stored", "x"], ["EXPIRE", "stored", "1000"], ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "stored"], ["TTL", "stored"], ["TYPE", "stored"],
        ["GEORADIUS", "none", "15", "37", "200", "km", "STORE", "stored"], ["EXISTS", "stored"],
        ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC"], ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"],
        ["GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km"], ["GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km", "WITHDIST", "WITHCOORD", "DESC"],
        ["GEORADIUSBYMEMBER", "Sicily", "missing", "100", "km"], ["GEORADIUSBYMEMBER", "none", "missing", "x", "y"],
        ["GEORADIUSBYMEMBER", "none", "missing", "x", "y", "STORE", "s2"], ["GEORADIUSBYMEMBER", "Sicily", "Agrigento", "x", "km"],
        ["GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km", "STORE", "s2"], ["ZRANGE", "s2", "0", "-1", "WITHSCORES"],
        ["GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100", "km", "WITHHASH"], ["GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100", "km", "STOREDIST", "x"],
        ["GEORADIUS", "Sicily", "15", "37"], ["GEORADIUSBYMEMBER", "Sicily", "a"],
        // GEOSEARCH and GEOSEARCHSTORE
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "DESC", "WITHDIST"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "100", "300", "km"], ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "300", "100", "km"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "Catania", "BYBOX", "0", "0", "m", "WITHDIST"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "3", "ANY"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "3"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37"], ["GEOSEARCH", "Sicily", "BYRADIUS", "200", "km", "ASC"],
        ["geosearch", "Sicily", "BYRADIUS", "200", "km", "ASC"], ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "ASC", "COUNT", "1"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "km", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"], ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "w", "1", "km"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "h", "km"], ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "au"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STORE", "x"],
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STOREDIST"],
        ["GEOSEARCH", "Sicily", "FROMMEMBER", "missing", "BYRADIUS", "1", "km"], ["GEOSEARCH", "none", "FROMMEMBER", "missing", "BYRADIUS", "1", "km"],
        ["GEOSEARCH", "none", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "km", "WITHDIST"], ["GEOSEARCH", "none", "FROMMEMBER", "x", "BYRADIUS", "-1", "km"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "STOREDIST", "COUNT", "2"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"],
        ["GEOSEARCHSTORE", "dst", "none", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"], ["EXISTS", "dst"],
        ["GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "100", "km"], ["ZRANGE", "Sicily", "0", "-1"],
        ["geosearchstore", "dst", "Sicily", "BYRADIUS", "1", "km"],
        // Dense points at equal distances, near the poles and the antimeridian, huge radii
        ["GEOADD", "ring", "0.001", "0", "e", "-0.001", "0", "w", "0", "0.001", "n", "0", "-0.001", "s", "0", "0", "c"],
        ["GEORADIUS", "ring", "0", "0", "1", "km", "WITHDIST", "ASC"], ["GEORADIUS", "ring", "0", "0", "1", "km", "DESC"],
        ["GEORADIUS", "ring", "0", "0", "1", "km", "COUNT", "3", "ASC"],
        ["GEOADD", "polar", "179.99", "84", "a", "-179.99", "84", "b", "0", "84.9", "c", "90", "84.9", "d", "179.9", "-84.9", "e"],
        ["GEORADIUS", "polar", "180", "84", "50", "km", "WITHDIST", "ASC"], ["GEORADIUS", "polar", "0", "85", "1000", "km", "WITHDIST", "ASC"],
        ["GEOSEARCH", "polar", "FROMLONLAT", "-180", "84", "BYBOX", "100", "100", "km", "WITHCOORD"],
        ["GEORADIUS", "polar", "0", "0", "30000", "km", "WITHDIST", "ASC"], ["GEORADIUS", "polar", "0", "-80", "600", "km"],
    ]

    @Test func scriptMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences\n\(differences.prefix(30).joined(separator: "\n"))")
    }

    /// Seeded random points around a few centres (a city, the poles' edge, the antimeridian)
    /// and random searches of every kind, with the stored sets compared after each command.
    @Test func randomSequencesMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["ga", "gb"]
        let centres: [(Double, Double)] = [(13.36, 38.11), (179.9, 10), (-179.95, -60), (0, 84.5), (2.35, 48.85)]
        let units = ["m", "km", "mi", "ft"]
        let differences = try harness.run(random: 500, seed: DifferentialHarness.seed("geo"),
                                          probes: keys.map { ["ZRANGE", $0, "0", "-1", "WITHSCORES"] }) { g in
            func unit() -> String { g.pick(units) }
            func near() -> (String, String) {
                let (lon, lat) = g.pick(centres)
                let spread = [0.001, 0.05, 1, 5][Int(g.next() % 4)]
                let dLon = (Double(g.next() % 20_001) / 10_000 - 1) * spread
                let dLat = (Double(g.next() % 20_001) / 10_000 - 1) * spread
                let x = Swift.min(180, Swift.max(-180, lon + dLon)), y = Swift.min(85, Swift.max(-85, lat + dLat))
                return (String(format: "%.6f", x), String(format: "%.6f", y))
            }
            func member() -> String { "m\(g.next() % 40)" }
            func radius() -> String { ["0", "1", "10", "150", "500", "2500", "9000"][Int(g.next() % 7)] }
            func options() -> [String] {
                var out: [String] = []
                if g.next() % 2 == 0 { out.append("WITHDIST") }
                if g.next() % 3 == 0 { out.append("WITHCOORD") }
                if g.next() % 4 == 0 { out.append("WITHHASH") }
                switch g.next() % 4 {
                case 0: out.append("ASC")
                case 1: out.append("DESC")
                default: break
                }
                if g.next() % 3 == 0 { out += ["COUNT", String(g.next() % 6 + 1)] }
                return out
            }
            let key = g.pick(keys)
            switch g.next() % 12 {
            case 0, 1, 2, 3:
                var command = ["GEOADD", key]
                for _ in 0..<Int(g.next() % 6 + 1) {
                    let (x, y) = near()
                    command += [x, y, member()]
                }
                return command
            case 4:
                let (x, y) = near()
                return ["GEORADIUS", key, x, y, radius(), unit()] + options()
            case 5:
                return ["GEORADIUSBYMEMBER", key, member(), radius(), unit()] + options()
            case 6:
                let (x, y) = near()
                return ["GEOSEARCH", key, "FROMLONLAT", x, y, "BYBOX", radius(), radius(), unit()] + options()
            case 7:
                return ["GEOSEARCH", key, "FROMMEMBER", member(), "BYRADIUS", radius(), unit()] + options()
            case 8:
                let (x, y) = near()
                let store = g.next() % 2 == 0 ? ["STOREDIST"] : []
                return ["GEOSEARCHSTORE", g.pick(keys), key, "FROMLONLAT", x, y, "BYRADIUS", radius(), unit(), "ASC", "COUNT", "5"] + store
            case 9:
                return ["GEODIST", key, member(), member(), unit()]
            case 10:
                return ["GEOPOS", key, member(), member()]
            default:
                return g.next() % 4 == 0 ? ["ZREM", key, member()] : ["GEOHASH", key, member(), member()]
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// Through a cluster (two racks of two nodes, DC_QUORUM): a geo set written through one
    /// node answers the same searches through every node; a STORE destination must live with
    /// its source (CROSSSLOT otherwise), and with a hash tag the stored set reaches both racks.
    @Test func geoThroughACluster() throws {
        typealias S = ClusterTestSupport
        let cluster = try TestCluster(layout: [[2, 2]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let first = try cluster.members[0].client()
        #expect(try first.command("GEOADD", "{geo}src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
                == .integer(2))
        let search = ["GEOSEARCH", "{geo}src", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHDIST"]
        let expected: RESPValue = .array([.array([S.bulk("Catania"), S.bulk("56.4413")]), .array([S.bulk("Palermo"), S.bulk("190.4424")])])
        for member in cluster.members {
            let client = try member.client()
            #expect(try client.command(search) == expected)
            #expect(try client.command("GEODIST", "{geo}src", "Palermo", "Catania", "km") == S.bulk("166.2742"))
        }
        // A destination owned elsewhere is refused; the keys and the rack's data are untouched.
        let apart = (0..<100).map { "dst:\($0)" }.first {
            S.owner(of: $0, in: cluster, rack: 0) !== S.owner(of: "{geo}src", in: cluster, rack: 0)
        }!
        for command in [["GEORADIUS", "{geo}src", "15", "37", "200", "km", "STORE", apart],
                        ["GEOSEARCHSTORE", apart, "{geo}src", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"]] {
            guard case .error(let message) = try first.command(command) else {
                Issue.record("\(command[0]) across owners was not refused")
                continue
            }
            #expect(message.hasPrefix("CROSSSLOT"))
        }
        #expect(try first.command("EXISTS", apart) == .integer(0))
        #expect(try first.command("GEORADIUS", "{geo}src", "15", "37", "200", "km", "STOREDIST", "{geo}near") == .integer(2))
        #expect(try first.command("GEOSEARCHSTORE", "{geo}box", "{geo}src", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km")
                == .integer(2))
        for member in cluster.members {
            let client = try S.client(member, consistency: "DC_ONE")
            try S.eventually("stored geo sets on \(member.rack)") {
                try client.command("ZCARD", "{geo}near") == .integer(2) && client.command("ZCARD", "{geo}box") == .integer(2)
            }
            #expect(try client.command("ZSCORE", "{geo}near", "Catania") == S.bulk("56.441257870158204"))
        }
    }
}
