import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as `zmq_curve_keypair` makes them.
public struct CurveKeyPair: Sendable, Equatable {
    public var publicKey: String
    public var secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq (libsodium's random source).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair") { zmq_curve_keypair(&publicKey, &secretKey) }
        return CurveKeyPair(publicKey: Self.text(publicKey), secretKey: Self.text(secretKey))
    }

    /// The public key that belongs to a Z85 secret key, or nil when the text is not a Z85 key.
    public static func publicKey(ofSecretKey secretKey: String) -> String? {
        guard CurveKey.raw(secretKey) != nil else { return nil }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { return nil }
        return text(publicKey)
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Z85 key text ↔ the 32 raw bytes CURVE uses.
public enum CurveKey {
    /// The 32 bytes of a 40-character Z85 key, or nil when the text is not one.
    public static func raw(_ z85: String) -> [UInt8]? {
        let text = Array(z85.utf8)
        guard text.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        let decoded = (text + [0]).withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { zmq_z85_decode(&bytes, $0.baseAddress) }
        }
        return decoded == nil ? nil : bytes
    }

    /// The 40-character Z85 text of 32 raw key bytes.
    public static func z85(_ raw: [UInt8]) -> String? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, raw, 32) != nil else { return nil }
        return String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What a client needs to reach a CURVE server: its own key pair and the server's public key.
public struct CurveClientKeys: Sendable, Equatable {
    public var client: CurveKeyPair
    /// The server's public key, Z85.
    public var serverKey: String

    public init(client: CurveKeyPair, serverKey: String) {
        self.client = client
        self.serverKey = serverKey
    }
}

extension Socket {
    /// Makes this socket a CURVE server with its long-term secret key: every peer must complete
    /// the CURVE handshake, and the context's ZAP handler (if one is bound) admits or refuses it.
    ///
    /// - Parameter zapDomain: passed to the ZAP handler, so it can admit peers per socket.
    public func makeCurveServer(secretKey: String, zapDomain: String) throws(ZMQError) {
        try setBytes(ZMQ_ZAP_DOMAIN, bytes: Array(zapDomain.utf8), "ZMQ_ZAP_DOMAIN")
        try setInt32(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
        try setBytes(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }

    /// Makes this socket a CURVE client: set before `connect`.
    public func makeCurveClient(_ keys: CurveClientKeys) throws(ZMQError) {
        try setBytes(ZMQ_CURVE_SERVERKEY, bytes: Array(keys.serverKey.utf8), "ZMQ_CURVE_SERVERKEY")
        try setBytes(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.client.publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
        try setBytes(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.client.secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }

    /// As `makeCurveClient` when keys are given; nothing otherwise (plain text).
    public func makeCurveClient(ifGiven keys: CurveClientKeys?) throws(ZMQError) {
        if let keys { try makeCurveClient(keys) }
    }
}
