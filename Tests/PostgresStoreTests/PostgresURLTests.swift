import PostgresStore
import Testing

@Suite struct PostgresURLTests {
    @Test func aFullURL() throws {
        let url = try PostgresURL("postgres://prism:secret@db.example:6543/orders")
        #expect(url == PostgresURL(user: "prism", password: "secret", host: "db.example", port: 6543, database: "orders"))
        #expect(url.endpoint == "db.example:6543")
        #expect(url.description == "postgres://prism@db.example:6543/orders", "no password in logs")
    }

    @Test func defaultsAndVariants() throws {
        #expect(try PostgresURL("postgresql://u:p@127.0.0.1/d") == PostgresURL(user: "u", password: "p", host: "127.0.0.1", port: 5432, database: "d"))
        #expect(try PostgresURL("POSTGRES://u@h/d") == PostgresURL(user: "u", password: nil, host: "h", port: 5432, database: "d"))
        #expect(try PostgresURL("postgres://u:@h:1/d").password == "", "an empty password is a password")
        let ipv6 = try PostgresURL("postgres://u:p@[::1]:5433/d")
        #expect(ipv6.host == "::1" && ipv6.port == 5433 && ipv6.endpoint == "[::1]:5433")
    }

    @Test func percentDecoding() throws {
        let url = try PostgresURL("postgres://us%65r:p%40ss%2Fw%3Ard@h:5432/my%20db")
        #expect(url.user == "user" && url.password == "p@ss/w:rd" && url.database == "my db")
        #expect(try PostgresURL("postgres://u:p@ss@h/d").password == "p@ss", "the user information ends at the last @")
        #expect(try PostgresURL("postgres://u:%C3%A9@h/d").password == "é")
    }

    @Test(arguments: [
        ("mysql://u:p@h/d", "must start with postgres:// or postgresql://"),
        ("postgres://u:p@h", "names no database"),
        ("postgres://u:p@h/", "names no database"),
        ("postgres://u:p@h/a/b", "has a '/' in the database name"),
        ("postgres://h:5432/d", "names no user"),
        ("postgres://:p@h/d", "names no user"),
        ("postgres://u:p@/d", "names no host"),
        ("postgres://u:p@:5432/d", "names no host"),
        ("postgres://u:p@h:0/d", "has port '0': must be a number 1-65535"),
        ("postgres://u:p@h:65536/d", "has port '65536'"),
        ("postgres://u:p@h:abc/d", "has port 'abc'"),
        ("postgres://u:p@h:/d", "has port ''"),
        ("postgres://u:p@[::1/d", "IPv6 host without its closing ']'"),
        ("postgres://u:p@h/d?sslmode=require", "takes no query parameters"),
        ("postgres://u:p%4@h/d", "bad percent-encoding in the password"),
        ("postgres://u:p%zz@h/d", "bad percent-encoding in the password"),
        ("postgres://u:%FF@h/d", "password that is not UTF-8"),
    ])
    func malformed(text: String, problem: String) {
        #expect {
            try PostgresURL(text)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test func errorsHideThePassword() {
        #expect {
            try PostgresURL("postgres://prism:hunter2@h:99999/d")
        } throws: { error in
            "\(error)" == "PostgreSQL URL 'postgres://prism:***@h:99999/d' has port '99999': must be a number 1-65535"
        }
    }
}
