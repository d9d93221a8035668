// Raw RocksDB put/get rates through the C API on this machine, with the engine's options
// (snappy, bloom filters, no fsync per write): the ceiling for Dynamis's SET and GET.
import CRocksDB
import Foundation

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory() + "/rocksdb-raw-bench"
try? FileManager.default.removeItem(atPath: directory)

let options = rocksdb_options_create()!
rocksdb_options_set_create_if_missing(options, 1)
rocksdb_options_increase_parallelism(options, 2)
rocksdb_options_set_compression(options, Int32(rocksdb_snappy_compression))
let table = rocksdb_block_based_options_create()!
rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom(10))
rocksdb_block_based_options_set_block_cache(table, rocksdb_cache_create_lru(256 << 20))
rocksdb_options_set_block_based_table_factory(options, table)
var error: UnsafeMutablePointer<CChar>?
guard let db = rocksdb_open(options, directory, &error) else {
    print("open failed: \(String(cString: error!))")
    exit(1)
}
let writeOptions = rocksdb_writeoptions_create()!
let readOptions = rocksdb_readoptions_create()!
let value = [CChar](repeating: 120, count: 82)  // 64-byte value plus Dynamis's 18-byte header

func key(_ i: Int) -> [CChar] { Array(String(format: "key:%012d", i).utf8CString.dropLast()) }
func rate(_ count: Int, _ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

let batched = 1_000_000
let batchRate = rate(batched) {
    let batch = rocksdb_writebatch_create()!
    for i in 0..<batched {
        let k = key(i)
        rocksdb_writebatch_put(batch, k, k.count, value, value.count)
        if i % 1000 == 999 {
            rocksdb_write(db, writeOptions, batch, &error)
            rocksdb_writebatch_clear(batch)
        }
    }
    rocksdb_writebatch_destroy(batch)
}
let singles = 300_000
let putRate = rate(singles) {
    for i in 0..<singles {
        let k = key(batched + i)
        rocksdb_put(db, writeOptions, k, k.count, value, value.count, &error)
    }
}
var generator = SystemRandomNumberGenerator()
let gets = 300_000
let getRate = rate(gets) {
    for _ in 0..<gets {
        let k = key(Int.random(in: 0..<batched, using: &generator))
        var length = 0
        if let v = rocksdb_get(db, readOptions, k, k.count, &length, &error) { rocksdb_free(v) }
    }
}
print(String(format: "raw RocksDB through the C API: %.0f puts/s in batches of 1000, %.0f single puts/s, %.0f random gets/s", batchRate, putRate, getRate))
rocksdb_close(db)
try? FileManager.default.removeItem(atPath: directory)
