/*
 * check_pushed.c - pushed detectors: SHA-256, bundles (read, unpack, modes,
 * refusals), the store's versions (on SQLite, and on PostgreSQL when
 * tests/store-pg.sh runs it), and a node materialising, verifying and
 * re-materialising its copy (runner/pushed.h).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "bundle.h"
#include "pushed.h"
#include "sha256.h"
#include "store.h"
#include "testutil.h"
#include "dbutil.h"

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static char *tmp_dir(void)
{
	char *dir = xasprintf("%s/vigil-pushed-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* A bundle directory: an entry script, a data file and a file in a subdirectory. */
static char *make_bundle_dir(const char *body)
{
	char *dir = tmp_dir(), *p;

	p = xasprintf("%s/run.sh", dir);
	write_file(p, body, 0755);
	free(p);
	p = xasprintf("%s/model.txt", dir);
	write_file(p, "weights 1 2 3\n", 0644);
	free(p);
	p = xasprintf("%s/lib", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/lib/helper.awk", dir);
	write_file(p, "{ print }\n", 0644);
	free(p);
	p = xasprintf("%s/.git", dir);   /* hidden: left out */
	write_file(p, "not part of it\n", 0644);
	free(p);
	return dir;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_sha256)
{
	char hex[65];
	struct sha256 c;
	char *million = xmalloc(1000000);

	sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* FIPS 180-2's million 'a's, fed in uneven pieces */
	memset(million, 'a', 1000000);
	sha256_init(&c);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1000 + 1)
		sha256_update(&c, million + off, off + step > 1000000 ? 1000000 - off : step);
	sha256_final_hex(&c, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}
END_TEST

START_TEST(test_bundle_roundtrip)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct bundle b = BUNDLE_INIT, again = BUNDLE_INIT;
	char *src = make_bundle_dir("#!/bin/sh\necho one\n"), *out = tmp_dir(), *entry = NULL, *p;
	char hex[65];

	ck_assert_msg(bundle_read(&b, src, NULL, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(b.entry, "run.sh");   /* the one executable at the top */
	ck_assert_int_eq(b.n_files, 3);        /* not .git */
	sha256_hex(b.form.buf, b.form.len, hex);
	ck_assert_str_eq(hex, b.sha256);
	ck_assert_msg(bundle_unpack(b.form.buf, b.form.len, b.sha256, out, &entry, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(entry, "run.sh");
	p = xasprintf("%s/run.sh", out);
	ck_assert_int_eq(mode_of(p), 0700);
	free(p);
	p = xasprintf("%s/model.txt", out);
	ck_assert_int_eq(mode_of(p), 0600);
	free(p);
	p = xasprintf("%s/lib", out);
	ck_assert_int_eq(mode_of(p), 0700);
	free(p);
	p = xasprintf("%s/lib/helper.awk", out);
	ck_assert_int_eq(mode_of(p), 0600);
	free(p);
	/* the copy reads back into the same form */
	ck_assert_msg(bundle_read(&again, out, "run.sh", &err) == 0, "%s", err.msg);
	ck_assert_str_eq(again.sha256, b.sha256);
	bundle_release(&again);
	bundle_remove_tree(out, NULL);
	free(out);

	/* a wrong hash, and a bundle whose path climbs out, are refused before anything is written */
	out = tmp_dir();
	ck_assert_int_eq(bundle_unpack(b.form.buf, b.form.len, "00", out, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "refused"), "%s", err.msg);
	{
		const char *evil = "vigil-bundle 1 run.sh\nx 3 ../run.sh\nabc";

		vigil_error_clear(&err);
		sha256_hex(evil, strlen(evil), hex);
		ck_assert_int_eq(bundle_unpack(evil, strlen(evil), hex, out, NULL, &err), -1);
		ck_assert_msg(strstr(err.msg, "malformed"), "%s", err.msg);
		p = xasprintf("%s/../run.sh", out);
		ck_assert_int_ne(access(p, F_OK), 0);
		free(p);
	}
	{
		/* headers that a lax parser would read past their line */
		static const char *const bad[] = {
			"vigil-bundle 1 run.sh\nx 3 \nrun.sh\nabc",
			"vigil-bundle 1 run.sh\nx 3\nrun.sh abc",
			"vigil-bundle 1 run.sh\nx -3 run.sh\nabc",
			"vigil-bundle 1 run.sh\nx 99999999999999999999 run.sh\nabc",
			"vigil-bundle 1 run.sh\nx 9 run.sh\nabc",
			"vigil-bundle 1 run.sh\ny 3 run.sh\nabc",
			"vigil-bundle 1 run.sh\n- 3 run.sh\nabc",          /* the entry point without its execute bit */
			"vigil-bundle 1 run.sh\nx 3 /etc/run.sh\nabc",
			"vigil-bundle 1 run.sh\nx 3 a//run.sh\nabc",
			"vigil-bundle 1 .x\nx 3 .x\nabc",
			"vigil-bundle 2 run.sh\nx 3 run.sh\nabc",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *o = tmp_dir();

			vigil_error_clear(&err);
			sha256_hex(bad[i], strlen(bad[i]), hex);
			ck_assert_msg(bundle_unpack(bad[i], strlen(bad[i]), hex, o, NULL, &err) == -1, "case %zu unpacked", i);
			ck_assert_int_eq(err.code, VIGIL_E_DATA);
			bundle_remove_tree(o, NULL);
			free(o);
		}
	}
	bundle_remove_tree(out, NULL);
	free(out);

	/* one changed byte, or a changed execute bit, is another version */
	p = xasprintf("%s/model.txt", src);
	ck_assert_int_eq(chmod(p, 0755), 0);
	vigil_error_clear(&err);
	ck_assert_int_eq(bundle_read(&again, src, "run.sh", &err), 0);
	ck_assert_str_ne(again.sha256, b.sha256);
	bundle_release(&again);
	free(p);
	bundle_release(&b);
	bundle_remove_tree(src, NULL);
	free(src);
	free(entry);
}
END_TEST

START_TEST(test_bundle_refusals)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct bundle b = BUNDLE_INIT;
	char *dir = tmp_dir(), *p = xasprintf("%s/data.txt", dir), *q = xasprintf("%s/missing", dir);
	int fd;

	write_file(p, "#!/bin/sh\n", 0644);
	ck_assert_int_eq(bundle_read(&b, p, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "is not executable"), "%s", err.msg);
	bundle_release(&b);
	vigil_error_clear(&err);
	write_file(p, "plain text\n", 0755);
	ck_assert_int_eq(bundle_read(&b, p, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "is not a program"), "%s", err.msg);
	bundle_release(&b);
	vigil_error_clear(&err);
	ck_assert_int_eq(bundle_read(&b, q, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "No such file"), "%s", err.msg);
	bundle_release(&b);
	/* over the cap: refused from its size, before it is read */
	vigil_error_clear(&err);
	write_file(p, "#!/bin/sh\n", 0755);
	fd = open(p, O_WRONLY);
	ck_assert_int_eq(ftruncate(fd, (off_t)BUNDLE_MAX_BYTES + 1), 0);
	close(fd);
	ck_assert_int_eq(bundle_read(&b, p, NULL, &err), -1);
	ck_assert_int_eq(err.code, VIGIL_E_LIMIT);
	ck_assert_msg(strstr(err.msg, "at most 64 MiB"), "%s", err.msg);
	bundle_release(&b);
	/* a symbolic link in a directory */
	unlink(p);
	write_file(p, "#!/bin/sh\n", 0755);
	ck_assert_int_eq(symlink("/etc/passwd", q), 0);
	vigil_error_clear(&err);
	ck_assert_int_eq(bundle_read(&b, dir, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "symbolic links"), "%s", err.msg);
	bundle_release(&b);
	ck_assert_int_eq(pushed_name_ok("spikes.py"), 1);
	ck_assert_int_eq(pushed_name_ok("../x"), 0);
	ck_assert_int_eq(pushed_name_ok(".hidden"), 0);
	ck_assert_int_eq(pushed_name_ok(""), 0);
	bundle_remove_tree(dir, NULL);
	free(dir);
	free(p);
	free(q);
}
END_TEST

/* Push the bundle of dir as name; returns the version. */
static int64_t push(struct store *st, const char *name, const char *dir, int *created, char sha[65])
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct bundle b = BUNDLE_INIT;
	struct pushed_version v;
	int64_t version = 0;

	ck_assert_msg(bundle_read(&b, dir, NULL, &err) == 0, "%s", err.msg);
	v = (struct pushed_version){ .name = name, .sha256 = b.sha256, .entry = b.entry, .by = "tester@host",
	                             .bundle = b.form.buf, .size = b.form.len, .at = 1000 };
	ck_assert_msg(st->backend->pushed->push(st, &v, &version, created, &err) == 0, "%s", err.msg);
	if (sha)
		memcpy(sha, b.sha256, 65);
	bundle_release(&b);
	return version;
}

START_TEST(test_store_versions)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db(), *one = make_bundle_dir("#!/bin/sh\necho one\n");
	char *two = make_bundle_dir("#!/bin/sh\necho two\n"), sha1[65], sha2[65];
	struct store *st = store_open(path, &err);
	json_t *latest, *list, *d;
	void *data;
	size_t len;
	int created;

	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(st->backend->pushed);
	ck_assert_int_eq(push(st, "det", one, &created, sha1), 1);
	ck_assert_int_eq(created, 1);
	/* the same content again: the same version, nothing stored */
	ck_assert_int_eq(push(st, "det", one, &created, NULL), 1);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM detector_versions"), 1);
	ck_assert_int_eq(push(st, "det", two, &created, sha2), 2);
	ck_assert_int_eq(created, 1);
	/* back to the first content: a new version, the bundle stored once */
	ck_assert_int_eq(push(st, "det", one, &created, NULL), 3);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM detector_bundles"), 2);
	/* names are independent */
	ck_assert_int_eq(push(st, "other", two, &created, NULL), 1);

	ck_assert_int_eq(st->backend->pushed->latest(st, "det", &latest, &err), 0);
	ck_assert_ptr_nonnull(latest);
	ck_assert_int_eq(json_integer_value(json_object_get(latest, "version")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(latest, "sha256")), sha1);
	ck_assert_str_eq(json_string_value(json_object_get(latest, "entry")), "run.sh");
	ck_assert_str_eq(json_string_value(json_object_get(latest, "pushed_by")), "tester@host");
	ck_assert_int_eq(json_integer_value(json_object_get(latest, "versions")), 3);
	json_decref(latest);
	ck_assert_int_eq(st->backend->pushed->latest(st, "nope", &latest, &err), 0);
	ck_assert_ptr_null(latest);

	ck_assert_int_eq(st->backend->pushed->bundle(st, sha2, &data, &len, &err), 0);
	ck_assert_ptr_nonnull(data);
	{
		char hex[65];

		sha256_hex(data, len, hex);
		ck_assert_str_eq(hex, sha2);   /* the bytes as pushed */
	}
	free(data);
	ck_assert_int_eq(st->backend->pushed->bundle(st, "feed", &data, &len, &err), 0);
	ck_assert_ptr_null(data);

	ck_assert_int_eq(st->backend->pushed->node_seen(st, "node-b", "det", 2, sha2, 2000, &err), 0);
	ck_assert_int_eq(st->backend->pushed->node_seen(st, "node-a", "det", 1, sha1, 2000, &err), 0);
	ck_assert_int_eq(st->backend->pushed->node_seen(st, "node-a", "det", 3, sha1, 3000, &err), 0);
	ck_assert_int_eq(st->backend->pushed->list(st, &list, &err), 0);
	ck_assert_int_eq(json_array_size(list), 2);
	d = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "name")), "det");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "version")), 3);
	ck_assert_int_eq(json_array_size(json_object_get(d, "nodes")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(d, "nodes"), 0), "node")),
	                 "node-a");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(d, "nodes"), 0), "version")),
	                 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(d, "nodes"), 1), "version")),
	                 2);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(list, 1), "nodes")), 0);
	json_decref(list);
	store_close(st);
	bundle_remove_tree(one, NULL);
	bundle_remove_tree(two, NULL);
	free(one);
	free(two);
	free(path);
}
END_TEST

START_TEST(test_materialise)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db(), *one = make_bundle_dir("#!/bin/sh\necho one\n");
	char *two = make_bundle_dir("#!/bin/sh\necho two\n"), *state = tmp_dir(), sha1[65], sha2[65];
	char *entry, *again, *copy_dir, *p;
	struct store *st = store_open(path, &err);
	struct pushed *pu;
	struct pushed_info info;
	struct bundle b = BUNDLE_INIT;
	int created;

	ck_assert_msg(st != NULL, "%s", err.msg);
	push(st, "det", one, &created, sha1);
	pu = pushed_new(state, NULL, "node-a");
	pushed_use_store(pu, st);
	entry = pushed_resolve(pu, "det", &info, &err);
	ck_assert_msg(entry != NULL, "%s", err.msg);
	ck_assert_int_eq(info.version, 1);
	ck_assert_str_eq(info.sha256, sha1);
	p = xasprintf("%s/pushed/%s/run.sh", state, sha1);
	ck_assert_str_eq(entry, p);
	free(p);
	ck_assert_int_eq(mode_of(entry), 0700);
	p = xasprintf("%s/pushed", state);
	ck_assert_int_eq(mode_of(p), 0700);
	free(p);
	copy_dir = xasprintf("%s/pushed/%s", state, sha1);
	ck_assert_int_eq(mode_of(copy_dir), 0700);
	ck_assert_int_eq(bundle_read(&b, copy_dir, "run.sh", &err), 0);
	ck_assert_str_eq(b.sha256, sha1);   /* the files hash to the version's name */
	bundle_release(&b);
	ck_assert_int_eq(scalar(path, "SELECT version FROM detector_nodes WHERE node = 'node-a' AND name = 'det'"), 1);

	/* tampered: its content changed, then its mode: set aside and written again */
	p = xasprintf("%s/model.txt", copy_dir);
	write_file(p, "poisoned\n", 0600);
	again = pushed_resolve(pu, "det", NULL, &err);
	ck_assert_msg(again != NULL, "%s", err.msg);
	ck_assert_str_eq(again, entry);
	ck_assert_int_eq(bundle_read(&b, copy_dir, "run.sh", &err), 0);
	ck_assert_str_eq(b.sha256, sha1);
	bundle_release(&b);
	free(again);
	ck_assert_int_eq(chmod(entry, 0777), 0);
	again = pushed_resolve(pu, "det", NULL, &err);
	ck_assert_msg(again != NULL, "%s", err.msg);
	ck_assert_int_eq(mode_of(entry), 0700);
	free(again);
	free(p);

	/* a new version: the next resolution materialises and reports it */
	push(st, "det", two, &created, sha2);
	again = pushed_resolve(pu, "det", &info, &err);
	ck_assert_msg(again != NULL, "%s", err.msg);
	ck_assert_int_eq(info.version, 2);
	ck_assert_msg(strstr(again, sha2), "%s", again);
	ck_assert_int_eq(scalar(path, "SELECT version FROM detector_nodes WHERE node = 'node-a' AND name = 'det'"), 2);
	free(again);

	/* no temporary directories are left behind */
	p = xasprintf("%s/pushed", state);
	{
		int n = 0;
		char *ls = xasprintf("ls -A '%s' | wc -l", p);
		FILE *f = popen(ls, "r");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fscanf(f, "%d", &n), 1);
		pclose(f);
		ck_assert_int_eq(n, 2);   /* the two versions, nothing else */
		free(ls);
	}
	free(p);

	/* an unknown name is a spec error */
	vigil_error_clear(&err);
	ck_assert_ptr_null(pushed_resolve(pu, "nope", NULL, &err));
	ck_assert_int_eq(err.code, VIGIL_E_SPEC);
	ck_assert_msg(strstr(err.msg, "no detector 'nope' was pushed"), "%s", err.msg);
	pushed_free(pu);
	store_close(st);
	bundle_remove_tree(state, NULL);
	bundle_remove_tree(one, NULL);
	bundle_remove_tree(two, NULL);
	free(state);
	free(one);
	free(two);
	free(entry);
	free(copy_dir);
	free(path);
}
END_TEST

static Suite *pushed_suite(void)
{
	Suite *s = suite_create("pushed");
	TCase *tc = tcase_create("pushed");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sha256);
	tcase_add_test(tc, test_bundle_roundtrip);
	tcase_add_test(tc, test_bundle_refusals);
	tcase_add_test(tc, test_store_versions);
	tcase_add_test(tc, test_materialise);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(pushed_suite());
}
