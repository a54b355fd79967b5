/* kahu version: the program's and its libraries' versions. */
#include "cmd/ctx.h"
#include "kahu-commit.h"
#include "util/err.h"

#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <yaml.h>
#include <zstd.h>

static json_t *version_json(void)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	json_t *libs = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				 "libcurl", cv->version,
				 "tls", cv->ssl_version ? cv->ssl_version : "none",
				 "jansson", jansson_version_str(),
				 "libyaml", yaml_get_version_string(),
				 "zstd", ZSTD_versionString(),
				 "libsodium", sodium_version_string(),
				 "libarchive", archive_version_string());
	return json_pack("{s:s, s:s, s:o}", "version", PACKAGE_VERSION, "gitCommit",
			 KAHU_GIT_COMMIT, "libraries", libs);
}

static int run_version(struct kahu_ctx *ctx)
{
	json_t *v = version_json();
	int rc = 0;

	switch (ctx->out) {
	case OUT_JSON:
		rc = out_json(stdout, v);
		break;
	case OUT_YAML:
		rc = out_yaml(stdout, v);
		break;
	default: {
		printf("kahu %s (commit %s)\n", PACKAGE_VERSION, KAHU_GIT_COMMIT);
		const char *k;
		json_t *x;
		json_object_foreach(json_object_get(v, "libraries"), k, x)
			printf("  %-10s %s\n", k, json_string_value(x));
	}
	}
	json_decref(v);
	return rc;
}

const struct kahu_cmd cmd_version_entry = {
	.name = "version",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Print the version of kahu and of the libraries it uses",
	.outputs = "table json yaml",
	.opts = NULL,
	.run = run_version,
};
