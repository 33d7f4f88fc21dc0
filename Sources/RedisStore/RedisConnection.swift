import CHiredis
import Foundation
import Logging
import ProjectionRuntime

/// A small synchronous Redis client over hiredis: one connection, opened when first needed and
/// again after it was lost, and commands sent as a pipeline (all written, then every reply read).
///
/// Failures follow the store contract (`ReadModelStoreError`): a server that cannot be reached,
/// refuses the login or drops the connection is `disconnected`, named by `host:port` with the
/// reason; a busy server (`LOADING`, `BUSY`, `OOM`, `MISCONF` …) is a store error that is not a
/// disconnection; any other error reply is a `RedisError` (the command's fault, not the store's).
///
/// Not thread-safe: the owner calls it from one thread at a time.
public final class RedisConnection {
    public let url: RedisURL
    /// Seconds to wait for the TCP connection.
    public let connectTimeout: Double
    /// Seconds to wait for a reply (and to write a command) before the connection counts as lost.
    public let commandTimeout: Double
    /// Runs after each (re)connection, once `AUTH` and `SELECT` went through: checks such as the
    /// AOF and the namespace's owner. An error it throws closes the connection again.
    public var onConnect: ((RedisConnection) throws -> Void)?
    /// The last failure's message (cleared by nothing: `stats` shows what went wrong last).
    public private(set) var lastError: String?
    private let logger: Logger
    private var context: UnsafeMutablePointer<redisContext>?
    /// Whether `onConnect` is running: its own commands must not reconnect.
    private var connecting = false

    /// hiredis 0.14 writes with write(2), so a write to a connection the server closed raises
    /// SIGPIPE, whose default action kills the process; ignored, the write fails with EPIPE instead.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// A connection to `url`; nothing is sent until the first command.
    public init(url: RedisURL, connectTimeout: Double = 2, commandTimeout: Double = 10, logger: Logger = Logger(label: "prism.redis")) {
        _ = Self.ignoreSIGPIPE
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    deinit { close() }

    /// Whether a connection is open (it may still turn out lost on the next command).
    public var isConnected: Bool { context != nil }

    /// Closes the connection, if open; the next command opens a new one.
    public func close() {
        if let context { redisFree(context) }
        context = nil
    }

    // MARK: - Commands

    /// Sends `commands` in one write and reads their replies, in order. Error replies are returned
    /// as `.error` values (see `checked` to throw them).
    ///
    /// - Parameter idempotent: when the connection was already open and turns out lost (the server
    ///   restarted since the last command), reconnect and send once more. Only for commands that
    ///   may run twice, such as reads.
    /// - Throws: `ReadModelStoreError` (disconnected) when the server cannot be reached, refuses the
    ///   login or the connection is lost; the connection is closed then, nothing is half-read.
    public func pipeline(_ commands: [RedisCommand], idempotent: Bool = false) throws -> [RedisValue] {
        let wasOpen = context != nil
        do {
            return try roundTrip(commands, on: try connected())
        } catch let error as ReadModelStoreError where error.disconnected && wasOpen && idempotent && !connecting {
            logger.info("redis connection lost, reconnecting once", metadata: ["redis.server": "\(url.endpoint)", "error": "\(error.message)"])
            return try roundTrip(commands, on: try connected())
        }
    }

    /// Sends one command and returns its reply, throwing an error reply (see `checked`).
    @discardableResult
    public func run(_ command: RedisCommand, idempotent: Bool = false) throws -> RedisValue {
        try checked(pipeline([command], idempotent: idempotent)[0], from: command.name)
    }

    /// `value`, unless it is an error reply: then a `ReadModelStoreError` for a server that is
    /// loading, busy running a script, out of memory, failing to persist, read-only or asking for a
    /// login; a `RedisError` for anything else.
    ///
    /// - Parameter command: the command's name, for the message.
    public func checked(_ value: RedisValue, from command: String) throws -> RedisValue {
        guard let message = value.errorMessage else { return value }
        let code = message.prefix { $0 != " " }
        if Self.unavailableCodes.contains(String(code)) {
            let disconnected = code == "NOAUTH"
            let failure = ReadModelStoreError("Redis at \(url.endpoint) refused \(command): \(message)", disconnected: disconnected)
            lastError = failure.message
            // Asked for a login (the server restarted with a password): the next call logs in anew.
            if disconnected { close() }
            throw failure
        }
        throw RedisError(command: command, message: message)
    }

    /// Error codes meaning the server cannot take commands now, not that the command is wrong.
    private static let unavailableCodes: Set<String> = [
        "LOADING", "BUSY", "OOM", "MISCONF", "READONLY", "MASTERDOWN", "TRYAGAIN", "NOREPLICAS", "NOAUTH",
    ]

    // MARK: - Connecting

    private func connected() throws -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        var timeout = Self.timeval(seconds: connectTimeout)
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeout) else {
            throw failure("cannot connect to Redis at \(url.endpoint): out of memory")
        }
        if context.pointee.err != 0 {
            let reason = Self.reason(context)
            redisFree(context)
            throw failure("cannot connect to Redis at \(url.endpoint): \(reason)")
        }
        timeout = Self.timeval(seconds: commandTimeout)
        if redisSetTimeout(context, timeout) != REDIS_OK {
            let reason = Self.reason(context)
            redisFree(context)
            throw failure("cannot set the timeout of the connection to Redis at \(url.endpoint): \(reason)")
        }
        self.context = context
        connecting = true
        defer { connecting = false }
        do {
            try login(context)
            try onConnect?(self)
        } catch {
            close()
            if let error = error as? ReadModelStoreError { lastError = error.message }
            throw error
        }
        logger.info("connected to redis", metadata: ["redis.server": "\(url.endpoint)", "redis.database": "\(url.database)"])
        return context
    }

    /// `AUTH` and `SELECT`, in one round trip; a refusal is a disconnection naming Redis's reason.
    private func login(_ context: UnsafeMutablePointer<redisContext>) throws {
        var commands: [RedisCommand] = []
        if let password = url.password {
            commands.append(url.user.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if url.database != 0 { commands.append(RedisCommand("SELECT", String(url.database))) }
        guard !commands.isEmpty else { return }
        for (command, reply) in zip(commands, try roundTrip(commands, on: context)) {
            guard let message = reply.errorMessage else { continue }
            let what = command.name == "AUTH" ? "the login\(url.user.map { " of user \($0)" } ?? "")" : "database \(url.database)"
            throw failure("Redis at \(url.endpoint) refused \(what): \(message)")
        }
    }

    // MARK: - hiredis

    private func roundTrip(_ commands: [RedisCommand], on context: UnsafeMutablePointer<redisContext>) throws -> [RedisValue] {
        for command in commands {
            let appended = command.bytes.withUnsafeBufferPointer { buffer -> Int32 in
                let base = UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
                var arguments: [UnsafePointer<CChar>?] = []
                var lengths: [Int] = []
                arguments.reserveCapacity(command.ends.count)
                lengths.reserveCapacity(command.ends.count)
                var start = 0
                for end in command.ends {
                    arguments.append(base + start)
                    lengths.append(end - start)
                    start = end
                }
                return redisAppendCommandArgv(context, Int32(command.ends.count), &arguments, lengths)
            }
            if appended != REDIS_OK { throw lost(context) }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var reply: UnsafeMutableRawPointer?
            if redisGetReply(context, &reply) != REDIS_OK { throw lost(context) }
            guard let reply else { throw lost(context) }
            defer { freeReplyObject(reply) }
            replies.append(Self.value(reply.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    /// Closes a connection hiredis gave up on (it cannot be used again) and names why.
    private func lost(_ context: UnsafeMutablePointer<redisContext>) -> ReadModelStoreError {
        let code = context.pointee.err
        var reason = Self.reason(context)
        if code == REDIS_ERR_IO && (reason.contains("temporarily unavailable") || reason.contains("timed out")) {
            reason = "no reply within \(commandTimeout) s"
        } else if code == REDIS_ERR_EOF {
            reason = "the server closed the connection"
        }
        close()
        return failure("lost the connection to Redis at \(url.endpoint): \(reason)")
    }

    private func failure(_ message: String) -> ReadModelStoreError {
        lastError = message
        return ReadModelStoreError(message, disconnected: true)
    }

    private static func reason(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func value(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let reply = reply.pointee
        func bytes() -> [UInt8] {
            guard let text = reply.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: text, count: reply.len))
        }
        switch reply.type {
        case REDIS_REPLY_STRING: return .string(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RedisValue] = []
            values.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                values.append(reply.element[index].map(value) ?? .null)
            }
            return .array(values)
        default: return .null
        }
    }

    private static func timeval(seconds: Double) -> Glibc.timeval {
        Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}

/// An error reply to a command that is the command's fault (`WRONGTYPE`, `ERR syntax error` …),
/// not the server's state: retrying will not help.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command's name, e.g. `EVAL`.
    public var command: String
    /// Redis's error text, code first.
    public var message: String

    public init(command: String, message: String) {
        self.command = command
        self.message = message
    }

    public var description: String { "Redis \(command) failed: \(message)" }
}
