import RedisStore
import Testing

@Suite struct RedisURLTests {
    @Test(arguments: [
        ("redis://localhost", RedisURL(host: "localhost")),
        ("redis://127.0.0.1:6390", RedisURL(host: "127.0.0.1", port: 6390)),
        ("redis://127.0.0.1:6390/", RedisURL(host: "127.0.0.1", port: 6390)),
        ("redis://h/3", RedisURL(host: "h", database: 3)),
        ("redis://:secret@h:7000/2", RedisURL(host: "h", port: 7000, password: "secret", database: 2)),
        ("redis://prism:secret@h", RedisURL(host: "h", user: "prism", password: "secret")),
        ("redis://:p%40ss%3Aword@h", RedisURL(host: "h", password: "p@ss:word")),
        ("redis://:p@ss@h", RedisURL(host: "h", password: "p@ss")),
        ("redis://[::1]:6380/1", RedisURL(host: "::1", port: 6380, database: 1)),
        ("redis://[::1]", RedisURL(host: "::1")),
    ])
    func parses(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(parsing: text) == expected)
    }

    @Test(arguments: [
        ("postgres://h", "a Redis URL starts with redis:// (redis://[[user]:password@]host[:port][/db]), got 'postgres…'"),
        ("localhost:6379", "a Redis URL starts with redis:// (redis://[[user]:password@]host[:port][/db]), got 'localhost…'"),
        ("redis://", "the Redis URL has no host (redis://host[:port][/db])"),
        ("redis://:6379", "the Redis URL has no host (redis://host[:port][/db])"),
        ("redis://h:0", "the Redis URL's port must be 1-65535, got '0'"),
        ("redis://h:65536", "the Redis URL's port must be 1-65535, got '65536'"),
        ("redis://h:port", "the Redis URL's port must be 1-65535, got 'port'"),
        ("redis://h:", "the Redis URL's port must be 1-65535, got ''"),
        ("redis://h/db", "the Redis URL's database must be a number from 0, got 'db'"),
        ("redis://h/-1", "the Redis URL's database must be a number from 0, got '-1'"),
        ("redis://h/0?timeout=1", "Redis URL options ('?timeout=1') are not supported: use redis://[[user]:password@]host[:port][/db]"),
        ("redis://secret@h", "the Redis URL's credentials need a ':' before the password (redis://user:password@host or redis://:password@host)"),
        ("redis://:@h", "the Redis URL's password is empty (leave out ':@' for none)"),
        ("redis://:a%4@h", "the Redis URL's password has a bad percent escape (use %XX with two hex digits)"),
        ("redis://[::1", "the Redis URL's IPv6 host '[::1' lacks its ']'"),
        ("redis://[::1]x", "unexpected 'x' after the Redis URL's host [::1]"),
    ])
    func refuses(text: String, message: String) {
        #expect(throws: RedisURLError(message)) { try RedisURL(parsing: text) }
    }

    @Test func descriptionHidesThePassword() throws {
        #expect(try RedisURL(parsing: "redis://prism:secret@h:7000/2").description == "redis://prism:***@h:7000/2")
        #expect(try RedisURL(parsing: "redis://:secret@[::1]").description == "redis://:***@[::1]:6379/0")
        #expect(try RedisURL(parsing: "redis://h").description == "redis://h:6379/0")
    }
}
