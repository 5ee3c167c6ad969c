// IndexServer: the slow-start workload of the JVM benchmark. It warms up the way
// real services do (loads thousands of JDK classes, builds an in-memory inverted
// index over generated documents), then answers on 127.0.0.1:PORT: a client sends
// a word and a newline, the server replies "<word> <documents containing it>
// <index checksum>". Everything is deterministic, so every correct answer is
// the same string. An optional fourth argument fills a warm cache of that many
// MiB on the heap after the warm-up (the lazy-restore bench): each answer then
// also reads 64 cache pages spread over it, folded into the checksum, so a correct
// answer proves those pages came back intact.
import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.util.*;
import java.util.stream.*;

public class IndexServer {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int docs = Integer.parseInt(args[1]);
        String[] modules = args[2].split(",");
        long t0 = System.nanoTime();
        int loaded = loadClasses(modules);
        long t1 = System.nanoTime();
        Map<String, int[]> index = new HashMap<>();
        long checksum = buildIndex(docs, index);
        // Drop the warm-up's garbage before taking traffic (with -XX:MaxHeapFreeRatio
        // the JVM then returns the freed heap to the OS): what stays is the index.
        System.gc();
        long[][] cache = fillCache(args.length > 3 ? Integer.parseInt(args[3]) : 0);
        long t2 = System.nanoTime();
        System.out.printf("loaded %d classes in %d ms, indexed %d docs (%d terms) in %d ms%n",
                loaded, (t1 - t0) / 1000000, docs, index.size(), (t2 - t1) / 1000000);
        try (ServerSocket ss = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
            for (;;) {
                try (Socket s = ss.accept();
                     BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream()));
                     Writer out = new OutputStreamWriter(s.getOutputStream())) {
                    String w = in.readLine();
                    if (w == null) continue;
                    int[] p = index.get(w.trim());
                    out.write(w.trim() + " " + (p == null ? 0 : p[0]) + " " + (checksum ^ sample(cache)) + "\n");
                    out.flush();
                } catch (IOException e) {
                    // a client that went away
                }
            }
        }
    }

    // fillCache: mib chunks of 1 MiB, filled with a deterministic pseudo-random
    // sequence (no zero pages).
    static long[][] fillCache(int mib) {
        long[][] cache = new long[mib][];
        long seed = 7;
        for (int i = 0; i < mib; i++) {
            long[] c = new long[1 << 17];
            for (int j = 0; j < c.length; j++) {
                seed = seed * 6364136223846793005L + 1442695040888963407L;
                c[j] = seed;
            }
            cache[i] = c;
        }
        return cache;
    }

    // sample: one long from each of 64 pages spread over the cache.
    static long sample(long[][] cache) {
        long sum = 0;
        for (int k = 0; k < 64 && cache.length > 0; k++) {
            long[] c = cache[(int) ((long) k * cache.length / 64)];
            sum = sum * 31 + c[(k * 4099) % c.length];
        }
        return sum;
    }

    // Loads (without initializing) every class of the given modules.
    static int loadClasses(String[] modules) throws IOException {
        FileSystem jrt = FileSystems.getFileSystem(URI.create("jrt:/"));
        ClassLoader cl = ClassLoader.getSystemClassLoader();
        int n = 0;
        for (String m : modules) {
            Path root = jrt.getPath("/modules", m);
            if (!Files.exists(root)) continue;
            List<String> names;
            try (Stream<Path> st = Files.walk(root)) {
                names = st.map(p -> root.relativize(p).toString())
                        .filter(s -> s.endsWith(".class") && !s.equals("module-info.class"))
                        .map(s -> s.substring(0, s.length() - 6).replace('/', '.'))
                        .collect(Collectors.toList());
            }
            for (String c : names) {
                try {
                    Class.forName(c, false, cl);
                    n++;
                } catch (Throwable e) {
                    // not loadable from here: skip
                }
            }
        }
        return n;
    }

    // Generates docs documents of 24 words over a Zipf-ish vocabulary and builds
    // postings lists in two passes (document frequencies, then postings), so the
    // warm-up costs CPU but the heap keeps only the index; returns a checksum.
    static long buildIndex(int docs, Map<String, int[]> index) {
        Map<String, int[]> stat = new HashMap<>(); // term -> {doc frequency, last doc, next slot}
        for (int pass = 0; pass < 2; pass++) {
            long seed = 42;
            for (int d = 0; d < docs; d++) {
                for (int k = 0; k < 24; k++) {
                    seed = seed * 6364136223846793005L + 1442695040888963407L;
                    long r = (seed >>> 33) % 100000;
                    String w = "w" + (r * r / 100000);
                    int[] s = pass == 0 ? stat.computeIfAbsent(w, x -> new int[] {0, -1, 1}) : stat.get(w);
                    if (s[1] == d) continue;
                    s[1] = d;
                    if (pass == 0) s[0]++;
                    else index.get(w)[s[2]++] = d;
                }
            }
            if (pass == 0) {
                for (Map.Entry<String, int[]> e : stat.entrySet()) {
                    int[] p = new int[e.getValue()[0] + 1];
                    p[0] = e.getValue()[0];
                    index.put(e.getKey(), p);
                    e.getValue()[1] = -1;
                }
            }
        }
        long sum = 0;
        for (Map.Entry<String, int[]> e : new TreeMap<>(index).entrySet()) {
            sum = sum * 31 + e.getKey().hashCode() * 17L + e.getValue()[0];
        }
        return sum;
    }
}
