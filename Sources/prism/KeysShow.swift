import ArgumentParser
import Security

/// `prism keys show data/keys/alice.pub`.
struct KeysShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a certificate's name, roles, fingerprint and public key (never the secret key).")

    @Argument(help: "A .pub or .key certificate file.")
    var file: String

    func run() throws {
        let certificate: Certificate
        do { certificate = try Certificate.readPublic(file) } catch { throw CLIError(error.message) }
        let roles = Principal(name: certificate.name, roles: certificate.roles).roleList
        print("name:        \(certificate.name)")
        print("roles:       \(roles.isEmpty ? "(none)" : roles)")
        print("fingerprint: \(certificate.fingerprint)")
        print("public key:  \(certificate.publicKey)")
    }
}
