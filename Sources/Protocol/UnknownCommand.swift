import NIOCore

/// Redis's unknown-command error: `ERR unknown command 'x', with args beginning with: 'a' 'b' `,
/// the name cut at 128 bytes and the arguments at 128 bytes in all.
public enum UnknownCommand {
    public static func message(_ arguments: [ByteBuffer]) -> [UInt8] {
        var out = Array("ERR unknown command '".utf8)
        out.append(contentsOf: arguments[0].readableBytesView.prefix(128))
        out.append(contentsOf: "', with args beginning with: ".utf8)
        var listed = 0
        for argument in arguments.dropFirst() where listed < 128 {
            let room = 128 - listed
            let part = argument.readableBytesView.prefix(room)
            out.append(UInt8(ascii: "'"))
            out.append(contentsOf: part)
            out.append(contentsOf: "' ".utf8)
            listed += part.count + 3
        }
        return out
    }
}
