import EventStore
import Foundation
import Testing

@Suite struct TimeOrderedIDTests {
    @Test func idsAreVersion7AndOrderedByMillisecond() throws {
        let first = UUID.timeOrdered()
        // Wait for the clock to move a millisecond, bounded, so the second id sorts after.
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline, UUID.timeOrdered().uuidString.prefix(13) == first.uuidString.prefix(13) {}
        let second = UUID.timeOrdered()
        #expect(first.uuidString.lowercased() < second.uuidString.lowercased())
        for id in [first, second] {
            let text = id.uuidString
            #expect(Array(text)[14] == "7", "version nibble")
            #expect("89AB".contains(Array(text)[19]), "variant bits")
        }
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let embedded = UInt64(first.uuidString.replacingOccurrences(of: "-", with: "").prefix(12), radix: 16)!
        #expect(embedded <= millis && millis - embedded < 5000)
    }

    @Test func idsAreUnique() {
        let ids = Set((0..<10_000).map { _ in UUID.timeOrdered() })
        #expect(ids.count == 10_000)
    }
}
