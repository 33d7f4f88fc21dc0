import Foundation

/// The copies of a read model in a projector's data directory: `generation-<n>/` directories and a
/// `CURRENT` file naming the live one, so that a rebuild can fill a fresh copy beside the live one
/// and switch by rewriting one file.
///
/// Opening it moves a data directory of the older single-directory layout into `generation-1/`, and
/// discards every generation that `CURRENT` does not name: the shadow of a rebuild that a crash or
/// a kill interrupted (the live copy serves, the rebuild has to be asked for again).
struct ModelGenerations {
    static let currentFile = "CURRENT"
    static let prefix = "generation-"
    /// Files of the data directory that belong to the projector, not to one copy of the model.
    static let shared: Set<String> = [currentFile, currentFile + ".tmp", SkippedEvents.fileName]

    let directory: String
    private(set) var current: Int

    init(directory: String) throws {
        self.directory = directory
        let files = FileManager.default
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let currentPath = (directory as NSString).appendingPathComponent(Self.currentFile)
        if let data = files.contents(atPath: currentPath) {
            let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let generation = Self.generation(named: name) else {
                throw ProjectorError("\(currentPath) names '\(name.prefix(64))', not a generation-<n> directory")
            }
            current = generation
        } else {
            current = 1
            let live = (directory as NSString).appendingPathComponent(Self.prefix + "1")
            try files.createDirectory(atPath: live, withIntermediateDirectories: true)
            for entry in try files.contentsOfDirectory(atPath: directory)
            where !Self.shared.contains(entry) && !entry.hasPrefix(Self.prefix) {
                try files.moveItem(atPath: (directory as NSString).appendingPathComponent(entry),
                                   toPath: (live as NSString).appendingPathComponent(entry))
            }
            try DurableFile.replace(currentPath, with: Array((Self.prefix + "1\n").utf8))
        }
        for entry in try files.contentsOfDirectory(atPath: directory)
        where entry.hasPrefix(Self.prefix) && entry != Self.prefix + "\(current)" {
            try files.removeItem(atPath: (directory as NSString).appendingPathComponent(entry))
        }
    }

    /// The generation a `generation-<n>` directory name holds (n ≥ 1), or nil for another name.
    static func generation(named name: String) -> Int? {
        guard name.hasPrefix(prefix), let generation = Int(name.dropFirst(prefix.count)), generation > 0 else { return nil }
        return generation
    }

    func path(_ generation: Int) -> String {
        (directory as NSString).appendingPathComponent(Self.prefix + "\(generation)")
    }

    var livePath: String { path(current) }

    /// Makes `generation` the live copy: `CURRENT` is replaced atomically and synced.
    mutating func switchTo(_ generation: Int) throws {
        try DurableFile.replace((directory as NSString).appendingPathComponent(Self.currentFile),
                                with: Array((Self.prefix + "\(generation)\n").utf8))
        current = generation
    }
}
