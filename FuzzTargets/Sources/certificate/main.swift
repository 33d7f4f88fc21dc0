import FuzzSupport
import Security

/// A CURVE certificate file (`Certificate.parse`, the zcert text format) as the write node and
/// the projectors read their own keys and the authorized clients'. Property: a parsed
/// certificate written out again (with and without its secret key) parses to the same one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCertificate(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzInput(start, count), as: UTF8.self)
    guard let certificate = try? Certificate.parse(text, source: "fuzz.key") else { return 0 }
    var publicHalf = certificate
    publicHalf.secretKey = nil
    require((try? Certificate.parse(certificate.text(includeSecret: true), source: "fuzz.key")) == certificate,
            "the certificate written out parses differently")
    require((try? Certificate.parse(certificate.text(includeSecret: false), source: "fuzz.key")) == publicHalf,
            "the public certificate written out parses differently")
    require(certificate.fingerprint == Certificate.fingerprint(ofPublicKey: certificate.publicKey), "a fingerprint")
    return 0
}
