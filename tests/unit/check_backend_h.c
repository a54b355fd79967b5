/* The installed provider header compiles on its own as strict C99 with -pedantic
 * (see store.mk: no config.h, only include/ on the path) and its ABI helpers work.
 * Prints TAP by hand: Check is not needed, and its headers are not -pedantic clean. */
#include <kahu/backend.h>

#include <stdio.h>
#include <string.h>

static int test_n, test_failed;

static void ok(int cond, const char *what)
{
	test_n++;
	if (!cond)
		test_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", test_n, what);
}

static int dummy_remove(struct kahu_backend_handle *h, const char *key)
{
	(void)h;
	(void)key;
	return KAHU_BACKEND_OK;
}

int main(void)
{
	struct kahu_backend be;
	memset(&be, 0, sizeof be);
	be.abi_major = KAHU_BACKEND_ABI_MAJOR;
	be.abi_minor = KAHU_BACKEND_ABI_MINOR;
	be.struct_size = sizeof be;
	be.remove = dummy_remove;

	printf("1..5\n");
	ok(KAHU_BACKEND_ABI_MAJOR == 1, "ABI major is 1");
	ok(KAHU_BACKEND_MIN_SIZE <= sizeof(struct kahu_backend), "minimum size within the struct");
	ok(KAHU_BACKEND_HAS(&be, remove), "HAS sees a set member");
	ok(!KAHU_BACKEND_HAS(&be, copy), "HAS ignores a NULL member");
	be.copy = (int (*)(struct kahu_backend_handle *, const char *, const char *))0;
	be.struct_size = KAHU_BACKEND_MIN_SIZE;
	ok(!KAHU_BACKEND_HAS(&be, copy), "HAS ignores a member past struct_size");
	return test_failed ? 1 : 0;
}
