#!/usr/bin/env bash
# Lays out Apache Flink 2.3.0 and Apache Spark 4.3.0 from PyPI (no Maven) in a cache folder and prints
# its path. The folder then holds:
#   flink/        FLINK_HOME (bin, conf, lib, opt, plugins) from the apache-flink and apache-flink-libraries wheels
#   spark/        SPARK_HOME (bin, jars, python/lib, examples) from the pyspark source distribution
#   hadoop/       only hadoop-client-api and hadoop-client-runtime 3.5.0 (for yarn.application.classpath
#                 and HADOOP_CLASSPATH: no slf4j or log4j beside them, Flink ships its own)
#   jobs/         a tiny Flink DataStream job (tinyjob.jar) and a Java SparkPi (sparkpi.jar), compiled here
# Cache: $SPINDLE_PEERS_HOME, else ${XDG_CACHE_HOME:-~/.cache}/spindle-peers. About 800 MB is downloaded once
# (the pyspark sdist is reused from ~/.cache/hadoop-peer/download when the conformance peer fetched it).
# Exit status 2 when a download or the layout fails.
set -euo pipefail
home="${SPINDLE_PEERS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/spindle-peers}"
if [ -f "$home/.complete" ]; then echo "$home"; exit 0; fi
mkdir -p "$home"
exec 9>"$home/.fetch.lock"
flock 9 # concurrent callers wait for one download
if [ -f "$home/.complete" ]; then echo "$home"; exit 0; fi
fail() { echo "fetch-peers: $*" >&2; exit 2; }
command -v python3 >/dev/null || fail "python3 with pip is needed"
command -v javac >/dev/null || fail "javac is needed to compile the tiny jobs"
# wheel_extract WHEEL DEST PREFIX...: the wheel's members under the prefixes, with python's zipfile.
wheel_extract() {
  python3 - "$@" <<'PY'
import sys, zipfile
wheel, dest, prefixes = sys.argv[1], sys.argv[2], tuple(sys.argv[3:])
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [m for m in z.namelist() if m.startswith(prefixes)])
PY
}
dl="$home/download"
mkdir -p "$dl"

# --- Flink: two wheels. apache-flink carries bin/ and conf/, apache-flink-libraries lib/, opt/, plugins/
# and bin/bash-java-utils.jar (without which config.sh cannot read config.yaml).
py_tag="cp$(python3 -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
if ! ls "$dl"/apache_flink-2.3.0-*.whl >/dev/null 2>&1; then
  # bin/ and conf/ are the same in every platform wheel: take the one for this interpreter, else cp311.
  python3 -m pip download --quiet --no-deps --only-binary :all: -d "$dl" apache-flink==2.3.0 >&2 ||
    python3 -m pip download --quiet --no-deps --only-binary :all: --python-version 3.11 \
      --platform manylinux2014_x86_64 -d "$dl" apache-flink==2.3.0 >&2 ||
    fail "pip could not download apache-flink 2.3.0 ($py_tag)"
fi
if ! ls "$dl"/apache_flink_libraries-2.3.0*.tar.gz "$dl"/apache_flink_libraries-2.3.0*.whl >/dev/null 2>&1; then
  python3 -m pip download --quiet --no-deps -d "$dl" apache-flink-libraries==2.3.0 >&2 ||
    fail "pip could not download apache-flink-libraries 2.3.0"
fi
tmp="$(mktemp -d "$home/.layout.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/flink-src"
for f in "$dl"/apache_flink-2.3.0-*.whl; do wheel_extract "$f" "$tmp/flink-src" pyflink/bin/ pyflink/conf/; done
for f in "$dl"/apache_flink_libraries-2.3.0*; do
  case "$f" in
    *.whl) wheel_extract "$f" "$tmp/flink-src" pyflink/ ;;
    *.tar.gz) tar -xzf "$f" -C "$tmp/flink-src" --strip-components=1 --wildcards '*/pyflink/*' ;;
  esac
done
src="$tmp/flink-src/pyflink"
[ -f "$src/lib/flink-dist-2.3.0.jar" ] || fail "no lib/flink-dist-2.3.0.jar in the Flink wheels"
[ -f "$src/bin/bash-java-utils.jar" ] || fail "no bin/bash-java-utils.jar in the Flink wheels"
mkdir -p "$tmp/flink"
for d in bin conf lib opt plugins; do [ -d "$src/$d" ] && mv "$src/$d" "$tmp/flink/$d"; done
chmod +x "$tmp/flink/bin/"*
mkdir -p "$tmp/flink/log"

# --- Spark: the pyspark sdist is a distribution once re-laid out (deps/bin, deps/jars, lib/*.zip).
sdist="$dl/pyspark-4.3.0.tar.gz"
shared_sdist="${XDG_CACHE_HOME:-$HOME/.cache}/hadoop-peer/download/pyspark-4.3.0.tar.gz"
if [ ! -f "$sdist" ]; then
  if [ -f "$shared_sdist" ]; then
    ln "$shared_sdist" "$sdist" 2>/dev/null || cp "$shared_sdist" "$sdist"
  else
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$dl" pyspark==4.3.0 >&2 ||
      fail "pip could not download the pyspark 4.3.0 source distribution"
  fi
fi
tar -xzf "$sdist" -C "$tmp" pyspark-4.3.0/deps/bin pyspark-4.3.0/deps/sbin pyspark-4.3.0/deps/jars pyspark-4.3.0/lib
mkdir -p "$tmp/spark/python"
mv "$tmp/pyspark-4.3.0/deps/bin" "$tmp/spark/bin"
mv "$tmp/pyspark-4.3.0/deps/sbin" "$tmp/spark/sbin"
mv "$tmp/pyspark-4.3.0/deps/jars" "$tmp/spark/jars"
mv "$tmp/pyspark-4.3.0/lib" "$tmp/spark/python/lib"
chmod +x "$tmp/spark/bin/"* "$tmp/spark/sbin/"*
mkdir -p "$tmp/spark/conf"

# --- The Hadoop client jars alone.
mkdir -p "$tmp/hadoop"
cp "$tmp/spark/jars/hadoop-client-api-3.5.0.jar" "$tmp/spark/jars/hadoop-client-runtime-3.5.0.jar" "$tmp/hadoop/"

# --- The tiny jobs.
jobs="$tmp/jobs"
mkdir -p "$jobs/src" "$jobs/flink-classes" "$jobs/spark-classes"
cat >"$jobs/src/TinyJob.java" <<'JAVA'
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Sums 1..1000 in parallel and prints the total: a Flink job small enough to start in seconds. */
public class TinyJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, 1000).map(x -> x * 2).returns(Long.class).keyBy(x -> x % 4).sum(0).print();
        env.execute("tiny-job");
    }
}
JAVA
cat >"$jobs/src/SparkPi.java" <<'JAVA'
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** Estimates pi by sampling points in the unit square, as Spark's example does. */
public final class SparkPi {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("SparkPi").getOrCreate();
        JavaSparkContext jsc = new JavaSparkContext(spark.sparkContext());
        int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int n = 100000 * slices;
        List<Integer> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) l.add(i);
        long count = jsc.parallelize(l, slices).filter(i -> {
            double x = Math.random() * 2 - 1, y = Math.random() * 2 - 1;
            return x * x + y * y <= 1;
        }).count();
        System.out.println("Pi is roughly " + 4.0 * count / n);
        spark.stop();
    }
}
JAVA
javac -nowarn -d "$jobs/flink-classes" -cp "$tmp/flink/lib/*" "$jobs/src/TinyJob.java" >&2 || fail "compiling TinyJob"
(cd "$jobs/flink-classes" && jar cfe "$jobs/tinyjob.jar" TinyJob .) || fail "packaging tinyjob.jar"
javac -nowarn -d "$jobs/spark-classes" -cp "$tmp/spark/jars/*" "$jobs/src/SparkPi.java" >&2 || fail "compiling SparkPi"
(cd "$jobs/spark-classes" && jar cfe "$jobs/sparkpi.jar" SparkPi .) || fail "packaging sparkpi.jar"
rm -rf "$jobs/flink-classes" "$jobs/spark-classes"

rm -rf "$home/flink" "$home/spark" "$home/hadoop" "$home/jobs"
mv "$tmp/flink" "$tmp/spark" "$tmp/hadoop" "$tmp/jobs" "$home/"
touch "$home/.complete"
echo "$home"
