import ArgumentParser
import Security

/// `prism keys generate alice --roles writer,reader --authorize`.
struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new key pair as DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub; print its fingerprint.",
        discussion: """
            A server's key is named after the server (write-node, orders-projector, …); a client's after \
            whoever uses it. --roles goes into the public certificate, which a server admits once it is \
            in the server's DIR/authorized/ (--authorize puts it there on this host). Existing keys are \
            never overwritten.
            """)

    @Argument(help: "The key's name: letters, digits, '-', '_' or '.'.")
    var name: String

    @Option(help: ArgumentHelp("The key directory.", valueName: "dir"))
    var dir = "data/keys"

    @Option(help: ArgumentHelp("What the key may do on a server that admits it: writer, projector, reader, admin (comma-separated).",
                               valueName: "roles"))
    var roles = ""

    @Flag(help: "Also admit the key: copy its public certificate to DIR/authorized/NAME.pub.")
    var authorize = false

    func run() throws {
        let roleSet: Set<Role>
        do { roleSet = try Role.parseList(roles) } catch { throw CLIError("--roles: \(error.message)") }
        if authorize && roleSet.isEmpty {
            throw CLIError("--authorize needs --roles: an authorized key without roles may do nothing")
        }
        let directory = KeyDirectory(dir)
        let certificate: Certificate
        do {
            certificate = try directory.generate(name, roles: roleSet, authorize: authorize)
        } catch {
            throw CLIError(error.message)
        }
        print("\(name): \(certificate.fingerprint)" + (roleSet.isEmpty ? "" : " (roles \(Principal(name: name, roles: roleSet).roleList))"))
        print("secret key:  \(directory.secretCertificatePath(name))  (mode 0600; never copy it off this host)")
        print("public key:  \(directory.publicCertificatePath(name))")
        if authorize { print("authorized:  \(directory.authorizedPath)/\(name).pub") }
    }
}
