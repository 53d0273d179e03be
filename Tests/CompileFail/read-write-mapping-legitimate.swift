// 1.0: a read-write file mapping is a FileMapping.ReadWriteBuffer — every element access through
// its `buffer`, and flush(waiting:) to make the writes durable — usable without `unsafe`.
//
// EXPECT-COMPILES
import ZiggyMmap

func update(_ path: String) throws {
    var mapped = try FileMapping.mapReadWrite(path, as: UInt32.self, count: 1024, createOrExtend: true)
    for i in mapped.buffer.indices { mapped.buffer[i] = UInt32(i) }
    mapped.buffer.fill(with: 7)
    try mapped.flush()
    try mapped.flush(waiting: false)
    print(mapped.buffer.count, mapped.buffer.backing)
}
