import ArgumentParser
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism send PlaceOrder orderId=o-1 userId=u1 amountCents:=4999 description="red shoes"`.
    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a domain command.",
            discussion: "Fields are key=value (a string) or key:=json (a number, boolean, object).")

        @Argument(help: "The command, e.g. RegisterUser, PlaceOrder, ConfirmPayment.")
        var command: String

        @Argument(help: "The command's data fields.")
        var fields: [String] = []

        @Option(help: "The whole data object as JSON (instead of fields).")
        var data: String?

        @OptionGroup var node: WriteNodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            var payload: JSONValue = .object(try parseFields(fields))
            if let data {
                guard fields.isEmpty else { throw CLIError("give either fields or --data, not both") }
                payload = try JSONParser.parse(data)
            }
            let context = try Context()
            let reply = try node.command().client(context).requestJSON(["command": .string(command), "data": payload], timeout: node.timeoutMs)
            printWriteReply(reply, json: output.json)
        }
    }
}
