/*
 * FileContentStoreTest.java - writes, reads and deletes content the way
 * Alfresco's FileContentStore (and its deleted-content backup cleaner) do,
 * for the integration tests (tests/integration/test_clients.sh).
 *
 *   java FileContentStoreTest write  ROOT COUNT SEED PART_SIZE
 *   java FileContentStoreTest verify ROOT COUNT SEED PART_SIZE
 *   java FileContentStoreTest delete ROOT COUNT SEED PART_SIZE
 *   java FileContentStoreTest list   ROOT COUNT SEED PART_SIZE
 *
 * Items are a pure function of (SEED, index): path
 * YYYY/M/D/H/m/<uuid>.bin (not zero-padded, as Alfresco's content URLs),
 * size (10 KiB - 20 MiB, mostly small; PART_SIZE and PART_SIZE + 1 among
 * them) and content, so every subcommand (and a later run, on another
 * mount) knows the expected bytes without a manifest.
 *
 * write:  per item, as FileContentStore.getWriter + putContent: mkdirs() of
 *         the date directory, createNewFile() (open O_RDWR|O_CREAT|O_EXCL,
 *         close), length() must be 0, new FileOutputStream(file) (open
 *         O_WRONLY|O_CREAT|O_TRUNC) and its FileChannel written in 8 KiB
 *         buffers (InputStream.transferTo's size), close; then the item
 *         is read back as FileContentReader does (RandomAccessFile "r"
 *         channel): ranged reads at fixed positions, then the whole file.
 * verify: ranged reads first (so that on a cold mount they are the first
 *         reads), then the whole file.
 * delete: per item, as DeletedContentBackupCleanerListener + FileContentStore
 *         .delete: copy to ROOT/contentstore.deleted/<same path> (the same
 *         writer pattern, content from a reader channel of the original),
 *         the copy read back whole, delete() of the original, then the
 *         parent directories deleted while empty, up to ROOT.
 * list:   touches nothing; prints the expected "item" lines (for a check
 *         with another reader, e.g. sha256sum).
 *
 * Output, one line per item:  item INDEX PATH SIZE SHA256
 * and for every check that fails: bad INDEX PATH WHAT (what went wrong, with
 * the exception's message); last line: summary ITEMS BAD. Exit status 0 if
 * nothing was bad, 1 otherwise, 2 for a usage error.
 */
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;
import java.util.UUID;

public class FileContentStoreTest {
    static final int KIB = 1024;
    static final int MIB = 1024 * 1024;
    static final int BUF = 8 * KIB;

    static int bad = 0;

    /** One content item: where it lives, how big, and its bytes. */
    static final class Item {
        final int index;
        final String path;
        final int size;
        final long contentSeed;

        Item(long seed, int index, long partSize) {
            this.index = index;
            SplittableRandom r = new SplittableRandom(seed * 1000003L + index);
            // 2026-11-25 13:00 + index/3 minutes: several items per minute
            // directory, several minute and hour directories.
            int minutes = index / 3;
            int hour = 13 + minutes / 60;
            int minute = minutes % 60;
            long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
            long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
            this.path = String.format("2026/11/25/%d/%d/%s.bin", hour, minute, new UUID(hi, lo));
            int sz;
            if (index % 50 == 17) {
                sz = 5 * MIB + r.nextInt(15 * MIB + 1);           // 5 - 20 MiB
            } else if (index % 100 == 42) {
                sz = (int) partSize;                               // exactly one part
            } else if (index % 100 == 92) {
                sz = (int) partSize + 1;                           // one part and a byte
            } else if (index % 25 == 3) {
                sz = 10 * KIB;                                     // the smallest
            } else {
                // log-uniform 10 KiB - 1 MiB
                double e = Math.log(10 * KIB) + r.nextDouble() * (Math.log(MIB) - Math.log(10 * KIB));
                sz = (int) Math.exp(e);
            }
            this.size = sz;
            this.contentSeed = r.nextLong();
        }

        byte[] content() {
            byte[] b = new byte[size];
            new SplittableRandom(contentSeed).nextBytes(b);
            return b;
        }
    }

    static void bad(Item it, String what) {
        bad++;
        System.out.println("bad " + it.index + " " + it.path + " " + what);
    }

    static String hex(byte[] d) {
        StringBuilder sb = new StringBuilder();
        for (byte x : d) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static String sha256(byte[] b) throws NoSuchAlgorithmException {
        return hex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** FileContentStore.createNewFile + FileContentWriter: the write pattern. */
    static boolean writeContent(Item it, File file, FileChannel source, byte[] data) {
        File dir = file.getParentFile();
        if (!dir.exists() && !dir.mkdirs() && !dir.isDirectory()) {
            bad(it, "mkdirs() of " + dir + " failed");
            return false;
        }
        try {
            if (!file.createNewFile()) {
                bad(it, "createNewFile() returned false (the file exists)");
                return false;
            }
        } catch (IOException e) {
            bad(it, "createNewFile(): " + describe(e));
            return false;
        }
        long len = file.length();
        if (len != 0) {
            bad(it, "length() after createNewFile() is " + len + ", not 0");
            return false;
        }
        try (FileOutputStream os = new FileOutputStream(file); FileChannel ch = os.getChannel()) {
            ByteBuffer buf = ByteBuffer.allocate(BUF);
            long off = 0;
            while (off < data.length) {
                buf.clear();
                if (source != null) {
                    int n = source.read(buf);
                    if (n < 0) {
                        bad(it, "source channel ended at " + off + " of " + data.length);
                        return false;
                    }
                } else {
                    buf.put(data, (int) off, (int) Math.min(BUF, data.length - off));
                }
                buf.flip();
                while (buf.hasRemaining()) off += ch.write(buf);
            }
        } catch (IOException e) {
            // FileOutputStream.close() reports close(2)'s error here.
            bad(it, "open/write/close for writing: " + describe(e));
            return false;
        }
        return true;
    }

    /** Ranged reads (FileChannel position + read) compared with the bytes. */
    static void readRanges(Item it, File file, byte[] data) {
        long[][] ranges = {
            {0, 1}, {0, 4096}, {data.length - 1, 1}, {data.length / 3, 65536 + 17},
            {Math.max(0, data.length - 70000), 70000}, {data.length / 2 + 1, 1000},
            {Math.max(0, data.length - 5 * MIB - 3), 300000},
        };
        try (RandomAccessFile raf = new RandomAccessFile(file, "r"); FileChannel ch = raf.getChannel()) {
            long size = ch.size();
            if (size != data.length) bad(it, "FileChannel.size() is " + size + ", expected " + data.length);
            for (long[] r : ranges) {
                long pos = r[0];
                int want = (int) Math.min(r[1], data.length - pos);
                ByteBuffer buf = ByteBuffer.allocate(want);
                ch.position(pos);
                while (buf.hasRemaining()) {
                    if (ch.read(buf) < 0) break;
                }
                if (buf.position() != want) {
                    bad(it, "ranged read at " + pos + ": got " + buf.position() + " of " + want + " bytes");
                    continue;
                }
                byte[] got = buf.array();
                for (int i = 0; i < want; i++) {
                    if (got[i] != data[(int) pos + i]) {
                        bad(it, "ranged read at " + pos + " len " + want + ": first differing byte at offset "
                            + (pos + i));
                        break;
                    }
                }
            }
        } catch (IOException e) {
            bad(it, "ranged read: " + describe(e));
        }
    }

    /** The whole file through a reader channel; returns its sha256 or null. */
    static String readWhole(Item it, File file, byte[] data) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long total = 0;
        long firstDiff = -1;
        try (RandomAccessFile raf = new RandomAccessFile(file, "r"); FileChannel ch = raf.getChannel()) {
            ByteBuffer buf = ByteBuffer.allocate(256 * KIB);
            for (;;) {
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) break;
                byte[] a = buf.array();
                md.update(a, 0, n);
                for (int i = 0; i < n && firstDiff < 0; i++) {
                    if (total + i >= data.length || a[i] != data[(int) total + i]) firstDiff = total + i;
                }
                total += n;
            }
        } catch (IOException e) {
            bad(it, "whole read: " + describe(e));
            return null;
        }
        if (total != data.length) {
            bad(it, "whole read: " + total + " bytes, expected " + data.length
                + (total < data.length ? " (truncated)" : ""));
        } else if (firstDiff >= 0) {
            bad(it, "whole read: content differs from byte " + firstDiff);
        }
        return hex(md.digest());
    }

    static void verifyItem(Item it, File file, byte[] data) throws NoSuchAlgorithmException {
        if (!file.isFile()) {
            bad(it, "missing (" + file + " is not a file)");
            return;
        }
        long len = file.length();
        if (len != data.length) bad(it, "length() is " + len + ", expected " + data.length);
        readRanges(it, file, data);
        String got = readWhole(it, file, data);
        if (got != null) System.out.println("item " + it.index + " " + it.path + " " + it.size + " " + got);
    }

    /** FileContentStore.deleteEmptyParents: delete parents while empty, up to root. */
    static void deleteEmptyParents(Item it, File file, File root) {
        String rootPath = root.getAbsolutePath();
        File parent = file.getAbsoluteFile().getParentFile();
        while (parent != null && !parent.getAbsolutePath().equals(rootPath)) {
            String[] list = parent.list();
            if (list == null) {
                bad(it, "list() of " + parent + " failed");
                return;
            }
            if (list.length > 0) return;
            if (!parent.delete()) {
                bad(it, "delete() of the empty directory " + parent + " failed");
                return;
            }
            parent = parent.getParentFile();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: FileContentStoreTest write|verify|delete|list ROOT COUNT SEED PART_SIZE");
            System.exit(2);
        }
        String cmd = args[0];
        File root = new File(args[1]);
        int count = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        long part = Long.parseLong(args[4]);
        if (!root.isDirectory() || count < 1 || part < 1 || part > 64L * MIB) {
            System.err.println("FileContentStoreTest: bad ROOT, COUNT or PART_SIZE");
            System.exit(2);
        }
        File deleted = new File(root, "contentstore.deleted");
        for (int i = 0; i < count; i++) {
            Item it = new Item(seed, i, part);
            File file = new File(root, it.path);
            byte[] data = it.content();
            switch (cmd) {
            case "write":
                if (writeContent(it, file, null, data)) verifyItem(it, file, data);
                break;
            case "verify":
                verifyItem(it, file, data);
                break;
            case "list":
                System.out.println("item " + it.index + " " + it.path + " " + it.size + " " + sha256(data));
                break;
            case "delete": {
                File copy = new File(deleted, it.path);
                boolean copied;
                try (RandomAccessFile raf = new RandomAccessFile(file, "r"); FileChannel src = raf.getChannel()) {
                    copied = writeContent(it, copy, src, data);
                } catch (IOException e) {
                    bad(it, "open of the original to copy it: " + describe(e));
                    copied = false;
                }
                if (!copied) break;
                String got = readWhole(it, copy, data);
                if (got == null) break;
                // FileContentStore.delete: exists() ? delete() : true.
                if (file.exists() && !file.delete()) {
                    bad(it, "delete() of the original failed");
                    break;
                }
                if (file.exists()) bad(it, "the original still exists after delete()");
                deleteEmptyParents(it, file, root);
                System.out.println("item " + it.index + " " + it.path + " " + it.size + " " + got);
                break;
            }
            default:
                System.err.println("FileContentStoreTest: unknown command " + cmd);
                System.exit(2);
            }
        }
        System.out.println("summary " + count + " " + bad);
        System.exit(bad == 0 ? 0 : 1);
    }
}
