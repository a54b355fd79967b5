#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/sanitize.h"
#include "kube/discovery.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

/* JSON written with single quotes (the test data holds no apostrophes). */
static json_t *J(const char *text)
{
	char *t = xstrdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t err;
	json_t *o = json_loads(t, 0, &err);
	ck_assert_msg(o != NULL, "bad test JSON (%s) at %d: %s", err.text, err.position, t);
	free(t);
	return o;
}

/* Takes ownership of `got`. */
static void expect_json(json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(got, want), "got\n  %s\nwant\n  %s", g, w);
	free(g);
	free(w);
	json_decref(want);
	json_decref(got);
}

static struct restore_clean_opts opts(void)
{
	struct restore_clean_opts o = { .backup_name = "nightly", .restore_name = "r1" };
	restore_clean_opts_init(&o);
	return o;
}

/* Clean `in` as `gr` and expect it restored as `want`. */
static void expect_clean(const char *gr, const struct restore_clean_opts *o, const char *in, const char *want)
{
	json_t *obj = J(in);
	const char *why = "unset";
	int v = restore_clean(obj, gr, o, &why);
	ck_assert_msg(v == CLEAN_RESTORE, "%s skipped: %s", gr, why ? why : "(null)");
	ck_assert_ptr_null(why);
	expect_json(obj, want);
}

/* Expect `in` skipped with a reason that contains `reason_part`. */
static void expect_skip(const char *gr, const struct restore_clean_opts *o, const char *in, const char *reason_part)
{
	json_t *obj = J(in);
	const char *why = NULL;
	int v = restore_clean(obj, gr, o, &why);
	ck_assert_msg(v == CLEAN_SKIP, "%s restored, expected a skip (%s)", gr, reason_part);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, reason_part), "reason \"%s\" lacks \"%s\"", why, reason_part);
	json_decref(obj);
}

#define KAHU_LABELS "'kahu.io/backup-name':'nightly','kahu.io/restore-name':'r1'"

/* ---- metadata and status ---- */

START_TEST(test_metadata)
{
	struct restore_clean_opts o = opts();
	expect_clean("deployments.apps", &o,
		     "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop',"
		     "'generateName':'web-','uid':'0b6c1f0e-8c1a-4a43-9a43-3f0c7b8e2a11','resourceVersion':'48213',"
		     "'selfLink':'/apis/apps/v1/namespaces/shop/deployments/web','generation':4,"
		     "'creationTimestamp':'2024-05-01T10:00:00Z','deletionTimestamp':'2024-05-02T10:00:00Z',"
		     "'deletionGracePeriodSeconds':30,'finalizers':['example.com/keep'],"
		     "'managedFields':[{'manager':'kubectl','operation':'Apply'}],"
		     "'ownerReferences':[{'apiVersion':'example.com/v1','kind':'Shop','name':'s','uid':'u1'}],"
		     "'labels':{'app':'web'},'annotations':{'deployment.kubernetes.io/revision':'4',"
		     "'kubectl.kubernetes.io/last-applied-configuration':'{}'}},"
		     "'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':"
		     "{'creationTimestamp':null,'labels':{'app':'web'}},'spec':{'containers':[{'name':'web','image':'nginx:1.27'}]}}},"
		     "'status':{'replicas':3,'readyReplicas':3,'observedGeneration':4}}",
		     "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop',"
		     "'finalizers':['example.com/keep'],"
		     "'labels':{'app':'web'," KAHU_LABELS "},'annotations':{'deployment.kubernetes.io/revision':'4',"
		     "'kubectl.kubernetes.io/last-applied-configuration':'{}'}},"
		     "'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':"
		     "{'creationTimestamp':null,'labels':{'app':'web'}},'spec':{'containers':[{'name':'web','image':'nginx:1.27'}]}}}}");
	/* Labels are added to an object that had none. */
	expect_clean("configmaps", &o,
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{'k':'v'}}",
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a','labels':{" KAHU_LABELS
		     "}},'data':{'k':'v'}}");
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_status_include)
{
	struct strv inc = STRV_INIT;
	struct restore_clean_opts o = opts();
	o.status_include = &inc;
	const char *in = "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','namespace':'a'},"
			 "'spec':{'size':1},'status':{'phase':'Ready'}}";
	const char *with = "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','namespace':'a',"
			   "'labels':{" KAHU_LABELS "}},'spec':{'size':1},'status':{'phase':'Ready'}}";
	const char *without = "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','namespace':'a',"
			      "'labels':{" KAHU_LABELS "}},'spec':{'size':1}}";
	expect_clean("widgets.example.com", &o, in, without);
	strv_push(&inc, "widgets.other.com");
	strv_push(&inc, "widget");
	strv_push(&inc, "gadgets");
	expect_clean("widgets.example.com", &o, in, without);
	strv_push(&inc, "widgets");
	expect_clean("widgets.example.com", &o, in, with);
	strv_free(&inc);
	strv_push(&inc, "widgets.example.com");
	expect_clean("widgets.example.com", &o, in, with);
	strv_free(&inc);
	strv_push(&inc, "*");
	expect_clean("widgets.example.com", &o, in, with);
	strv_free(&inc);
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_label_values)
{
	char *v = restore_label_value("nightly-2024.05.01");
	ck_assert_str_eq(v, "nightly-2024.05.01");
	free(v);
	char n63[64], n64[65], n64b[65];
	memset(n63, 'a', 63);
	n63[63] = 0;
	memset(n64, 'b', 64);
	n64[64] = 0;
	memcpy(n64b, n64, sizeof n64);
	n64b[63] = 'c';
	v = restore_label_value(n63);
	ck_assert_str_eq(v, n63);
	free(v);
	v = restore_label_value(n64);
	char *w = restore_label_value(n64b);
	ck_assert_uint_eq(strlen(v), 63);
	ck_assert_uint_eq(strlen(w), 63);
	ck_assert_int_eq(strncmp(v, n64, 46), 0);
	ck_assert_int_eq(v[46], '-');
	ck_assert_str_ne(v, w); /* same prefix, different names */
	free(v);
	free(w);
	/* Cut at a '-': the prefix still ends with an alphanumeric character. */
	char dashy[80];
	memset(dashy, 'x', 79);
	dashy[79] = 0;
	dashy[45] = '-';
	v = restore_label_value(dashy);
	ck_assert_int_eq(strncmp(v, dashy, 45), 0);
	ck_assert_int_eq(v[45], '-');
	ck_assert_uint_eq(strlen(v), 62);
	free(v);
	v = restore_label_value("My Backup!");
	ck_assert_str_eq(v, "My-Backup");
	free(v);
	v = restore_label_value("");
	ck_assert_str_eq(v, "");
	free(v);
	v = restore_label_value("--");
	ck_assert_uint_eq(strlen(v), 16);
	free(v);
	/* opts_init applies it. */
	struct restore_clean_opts o = { .backup_name = n64, .restore_name = "r" };
	restore_clean_opts_init(&o);
	ck_assert_uint_eq(strlen(o.backup_label), 63);
	ck_assert_str_eq(o.restore_label, "r");
	restore_clean_opts_release(&o);
	restore_clean_opts_release(NULL);
	/* Without opts_init, restore_clean computes the values itself. */
	struct restore_clean_opts raw = { .backup_name = n64, .restore_name = "r" };
	json_t *obj = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}");
	ck_assert_int_eq(restore_clean(obj, "configmaps", &raw, NULL), CLEAN_RESTORE);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
		"labels"), KAHU_LABEL_BACKUP))), 63);
	json_decref(obj);
}
END_TEST

START_TEST(test_malformed)
{
	struct restore_clean_opts o = opts();
	expect_skip("configmaps", &o, "{'apiVersion':'v1','kind':'ConfigMap'}", "malformed");
	expect_skip("configmaps", &o, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'namespace':'a'}}", "malformed");
	expect_skip("configmaps", &o, "[1,2]", "malformed");
	/* NULL options and NULL reason pointer are allowed. */
	json_t *obj = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','uid':'x'}}");
	ck_assert_int_eq(restore_clean(obj, "configmaps", NULL, NULL), CLEAN_RESTORE);
	expect_json(obj, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- services ---- */

START_TEST(test_service_cluster_ip)
{
	struct restore_clean_opts o = opts();
	expect_clean("services", &o,
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db','namespace':'a'},"
		     "'spec':{'type':'ClusterIP','clusterIP':'10.96.12.7','clusterIPs':['10.96.12.7'],"
		     "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','selector':{'app':'db'},"
		     "'ports':[{'name':'pg','port':5432,'protocol':'TCP','targetPort':5432}]},"
		     "'status':{'loadBalancer':{}}}",
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db','namespace':'a','labels':{" KAHU_LABELS "}},"
		     "'spec':{'type':'ClusterIP',"
		     "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','selector':{'app':'db'},"
		     "'ports':[{'name':'pg','port':5432,'protocol':'TCP','targetPort':5432}]}}");
	/* Headless: "None" stays. */
	expect_clean("services", &o,
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db-hl','namespace':'a'},"
		     "'spec':{'clusterIP':'None','clusterIPs':['None'],'selector':{'app':'db'}}}",
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db-hl','namespace':'a','labels':{" KAHU_LABELS "}},"
		     "'spec':{'clusterIP':'None','clusterIPs':['None'],'selector':{'app':'db'}}}");
	/* ExternalName: nothing allocated, nothing to clear. */
	expect_clean("services", &o,
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'ext','namespace':'a'},"
		     "'spec':{'type':'ExternalName','externalName':'db.example.com','sessionAffinity':'None'}}",
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'ext','namespace':'a','labels':{" KAHU_LABELS "}},"
		     "'spec':{'type':'ExternalName','externalName':'db.example.com','sessionAffinity':'None'}}");
	restore_clean_opts_release(&o);
}
END_TEST

#define NODEPORT_SVC(extra_ann)                                                                      \
	"{'apiVersion':'v1','kind':'Service','metadata':{'name':'lb','namespace':'a','annotations':{" \
	extra_ann "}},'spec':{'type':'LoadBalancer','clusterIP':'10.96.0.20','clusterIPs':['10.96.0.20']," \
	"'externalTrafficPolicy':'Local','healthCheckNodePort':32001,'ports':["                       \
	"{'name':'http','port':80,'targetPort':8080,'protocol':'TCP','nodePort':30080},"             \
	"{'name':'https','port':443,'targetPort':8443,'protocol':'TCP','nodePort':30443}]}}"

START_TEST(test_service_node_ports)
{
	struct restore_clean_opts o = opts();
	/* Allocated ports are dropped. */
	expect_clean("services", &o, NODEPORT_SVC(""),
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'lb','namespace':'a','annotations':{},"
		     "'labels':{" KAHU_LABELS "}},'spec':{'type':'LoadBalancer',"
		     "'externalTrafficPolicy':'Local','ports':["
		     "{'name':'http','port':80,'targetPort':8080,'protocol':'TCP'},"
		     "{'name':'https','port':443,'targetPort':8443,'protocol':'TCP'}]}}");
	/* A nodePort and healthCheckNodePort the operator wrote (kubectl apply) are kept. */
#define APPLIED "'kubectl.kubernetes.io/last-applied-configuration':" \
	"'{\\'spec\\':{\\'healthCheckNodePort\\':32001,\\'ports\\':[{\\'port\\':443,\\'nodePort\\':30443}]}}'"
	json_t *obj = J(NODEPORT_SVC(APPLIED));
	ck_assert_int_eq(restore_clean(obj, "services", &o, NULL), CLEAN_RESTORE);
	json_t *spec = json_object_get(obj, "spec");
	json_t *ports = json_object_get(spec, "ports");
	ck_assert_ptr_null(json_object_get(json_array_get(ports, 0), "nodePort"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ports, 1), "nodePort")), 30443);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "healthCheckNodePort")), 32001);
	ck_assert_ptr_null(json_object_get(spec, "clusterIP"));
	json_decref(obj);
	/* --preserve-nodeports keeps them all. */
	o.preserve_nodeports = 1;
	expect_clean("services", &o, NODEPORT_SVC(""),
		     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'lb','namespace':'a','annotations':{},"
		     "'labels':{" KAHU_LABELS "}},'spec':{'type':'LoadBalancer',"
		     "'externalTrafficPolicy':'Local','healthCheckNodePort':32001,'ports':["
		     "{'name':'http','port':80,'targetPort':8080,'protocol':'TCP','nodePort':30080},"
		     "{'name':'https','port':443,'targetPort':8443,'protocol':'TCP','nodePort':30443}]}}");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- volumes ---- */

START_TEST(test_pv)
{
	struct restore_clean_opts o = opts();
	const char *pv = "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pvc-7d1e',"
			 "'annotations':{'pv.kubernetes.io/provisioned-by':'ebs.csi.aws.com'},'finalizers':['kubernetes.io/pv-protection']},"
			 "'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce'],'persistentVolumeReclaimPolicy':'Retain',"
			 "'claimRef':{'apiVersion':'v1','kind':'PersistentVolumeClaim','name':'data','namespace':'shop',"
			 "'uid':'5f0a','resourceVersion':'777'},'csi':{'driver':'ebs.csi.aws.com','volumeHandle':'vol-1'}},"
			 "'status':{'phase':'Bound'}}";
	expect_clean("persistentvolumes", &o, pv,
		     "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pvc-7d1e',"
		     "'annotations':{'pv.kubernetes.io/provisioned-by':'ebs.csi.aws.com'},'finalizers':['kubernetes.io/pv-protection'],"
		     "'labels':{" KAHU_LABELS "}},"
		     "'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce'],'persistentVolumeReclaimPolicy':'Retain',"
		     "'claimRef':{'apiVersion':'v1','kind':'PersistentVolumeClaim','name':'data','namespace':'shop'},"
		     "'csi':{'driver':'ebs.csi.aws.com','volumeHandle':'vol-1'}}}");
	/* When kahu restores the data, the claim is provisioned anew: no PV. */
	o.volume_data_restored = 1;
	expect_skip("persistentvolumes", &o, pv, "provisioned anew");
	/* An unclaimed PV is still restored. */
	expect_clean("persistentvolumes", &o,
		     "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'free'},'spec':{'capacity':{'storage':'1Gi'}}}",
		     "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'free','labels':{" KAHU_LABELS "}},"
		     "'spec':{'capacity':{'storage':'1Gi'}}}");
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_pvc)
{
	struct restore_clean_opts o = opts();
	const char *pvc = "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data','namespace':'shop',"
			  "'annotations':{'pv.kubernetes.io/bind-completed':'yes','pv.kubernetes.io/bound-by-controller':'yes',"
			  "'volume.kubernetes.io/selected-node':'node-3','volume.beta.kubernetes.io/storage-provisioner':'ebs.csi.aws.com',"
			  "'volume.kubernetes.io/storage-provisioner':'ebs.csi.aws.com','team':'shop'}},"
			  "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'10Gi'}},"
			  "'storageClassName':'gp3','volumeMode':'Filesystem','volumeName':'pvc-7d1e'},"
			  "'status':{'phase':'Bound','capacity':{'storage':'10Gi'}}}";
	expect_clean("persistentvolumeclaims", &o, pvc,
		     "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data','namespace':'shop',"
		     "'annotations':{'team':'shop'},'labels':{" KAHU_LABELS "}},"
		     "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'10Gi'}},"
		     "'storageClassName':'gp3','volumeMode':'Filesystem','volumeName':'pvc-7d1e'}}");
	o.volume_data_restored = 1;
	expect_clean("persistentvolumeclaims", &o, pvc,
		     "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data','namespace':'shop',"
		     "'annotations':{'team':'shop'},'labels':{" KAHU_LABELS "}},"
		     "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'10Gi'}},"
		     "'storageClassName':'gp3','volumeMode':'Filesystem'}}");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- pods, jobs, service accounts, token secrets ---- */

START_TEST(test_pod)
{
	struct restore_clean_opts o = opts();
	expect_clean("pods", &o,
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'tool','namespace':'ops'},"
		     "'spec':{'serviceAccountName':'builder','serviceAccount':'builder','nodeName':'node-1',"
		     "'initContainers':[{'name':'init','image':'busybox','volumeMounts':["
		     "{'name':'builder-token-x7k2p','mountPath':'/var/run/secrets/kubernetes.io/serviceaccount','readOnly':true}]}],"
		     "'containers':[{'name':'main','image':'tool:1','volumeMounts':["
		     "{'name':'work','mountPath':'/work'},"
		     "{'name':'kube-api-access-9zq4m','mountPath':'/var/run/secrets/kubernetes.io/serviceaccount','readOnly':true},"
		     "{'name':'builder-token-x7k2p','mountPath':'/token'}]}],"
		     "'volumes':[{'name':'work','emptyDir':{}},"
		     "{'name':'builder-token-x7k2p','secret':{'secretName':'builder-token-x7k2p','defaultMode':420}},"
		     "{'name':'kube-api-access-9zq4m','projected':{'sources':[{'serviceAccountToken':{'path':'token'}}]}},"
		     "{'name':'kube-api-access-mine','configMap':{'name':'mine'}}]},"
		     "'status':{'phase':'Running','podIP':'10.0.0.5'}}",
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'tool','namespace':'ops','labels':{" KAHU_LABELS "}},"
		     "'spec':{'serviceAccountName':'builder','serviceAccount':'builder',"
		     "'initContainers':[{'name':'init','image':'busybox','volumeMounts':[]}],"
		     "'containers':[{'name':'main','image':'tool:1','volumeMounts':["
		     "{'name':'work','mountPath':'/work'}]}],"
		     "'volumes':[{'name':'work','emptyDir':{}},"
		     "{'name':'kube-api-access-mine','configMap':{'name':'mine'}}]}}");
	/* The default service account; a token Secret mounted under another volume name. */
	expect_clean("pods", &o,
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},"
		     "'spec':{'containers':[{'name':'c','volumeMounts':[{'name':'tok','mountPath':'/t'}]}],"
		     "'volumes':[{'name':'tok','secret':{'secretName':'default-token-abcde'}}]}}",
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a','labels':{" KAHU_LABELS "}},"
		     "'spec':{'containers':[{'name':'c','volumeMounts':[]}],'volumes':[]}}");
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_job)
{
	struct restore_clean_opts o = opts();
	expect_clean("jobs.batch", &o,
		     "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'migrate','namespace':'shop',"
		     "'labels':{'batch.kubernetes.io/job-name':'migrate','job-name':'migrate'}},"
		     "'spec':{'backoffLimit':6,'completions':1,'selector':{'matchLabels':{'batch.kubernetes.io/controller-uid':'1a2b'}},"
		     "'template':{'metadata':{'labels':{'batch.kubernetes.io/controller-uid':'1a2b','controller-uid':'1a2b',"
		     "'batch.kubernetes.io/job-name':'migrate','job-name':'migrate'}},"
		     "'spec':{'restartPolicy':'Never','containers':[{'name':'m','image':'migrate:3'}]}}},"
		     "'status':{'active':1}}",
		     "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'migrate','namespace':'shop',"
		     "'labels':{'batch.kubernetes.io/job-name':'migrate','job-name':'migrate'," KAHU_LABELS "}},"
		     "'spec':{'backoffLimit':6,'completions':1,"
		     "'template':{'metadata':{'labels':{'batch.kubernetes.io/job-name':'migrate','job-name':'migrate'}},"
		     "'spec':{'restartPolicy':'Never','containers':[{'name':'m','image':'migrate:3'}]}}}}");
	/* A manual selector is the operator's: kept. */
	expect_clean("jobs.batch", &o,
		     "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'m','namespace':'a'},"
		     "'spec':{'manualSelector':true,'selector':{'matchLabels':{'x':'y'}},"
		     "'template':{'metadata':{'labels':{'x':'y'}}}}}",
		     "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'m','namespace':'a','labels':{" KAHU_LABELS "}},"
		     "'spec':{'manualSelector':true,'selector':{'matchLabels':{'x':'y'}},"
		     "'template':{'metadata':{'labels':{'x':'y'}}}}}");
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_service_account)
{
	struct restore_clean_opts o = opts();
	expect_clean("serviceaccounts", &o,
		     "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'builder','namespace':'ci'},"
		     "'secrets':[{'name':'builder-token-x7k2p'},{'name':'builder-dockercfg'}],"
		     "'imagePullSecrets':[{'name':'builder-dockercfg'}]}",
		     "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'builder','namespace':'ci','labels':{" KAHU_LABELS "}},"
		     "'secrets':[{'name':'builder-dockercfg'}],'imagePullSecrets':[{'name':'builder-dockercfg'}]}");
	expect_clean("serviceaccounts", &o,
		     "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':'ci'},"
		     "'secrets':[{'name':'default-token-4bq9z'}]}",
		     "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':'ci','labels':{" KAHU_LABELS "}}}");
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_token_secrets)
{
	struct restore_clean_opts o = opts();
	/* Generated by the token controller of the source cluster: skipped. */
	expect_skip("secrets", &o,
		    "{'apiVersion':'v1','kind':'Secret','type':'kubernetes.io/service-account-token',"
		    "'metadata':{'name':'builder-token-x7k2p','namespace':'ci','annotations':{"
		    "'kubernetes.io/service-account.name':'builder','kubernetes.io/service-account.uid':'9f'}},"
		    "'data':{'token':'ZXlK','ca.crt':'LS0t','namespace':'Y2k='}}",
		    "token generated");
	/* Asked for by the operator: restored empty, the target's controller fills it. */
	expect_clean("secrets", &o,
		     "{'apiVersion':'v1','kind':'Secret','type':'kubernetes.io/service-account-token',"
		     "'metadata':{'name':'builder-long-lived','namespace':'ci','annotations':{"
		     "'kubernetes.io/service-account.name':'builder','kubernetes.io/service-account.uid':'9f'}},"
		     "'data':{'token':'ZXlK','ca.crt':'LS0t','namespace':'Y2k='}}",
		     "{'apiVersion':'v1','kind':'Secret','type':'kubernetes.io/service-account-token',"
		     "'metadata':{'name':'builder-long-lived','namespace':'ci','annotations':{"
		     "'kubernetes.io/service-account.name':'builder'},'labels':{" KAHU_LABELS "}}}");
	/* Ordinary secrets keep their data. */
	expect_clean("secrets", &o,
		     "{'apiVersion':'v1','kind':'Secret','type':'Opaque','metadata':{'name':'builder-token-abcde','namespace':'ci'},"
		     "'data':{'password':'c2VjcmV0'}}",
		     "{'apiVersion':'v1','kind':'Secret','type':'Opaque','metadata':{'name':'builder-token-abcde','namespace':'ci',"
		     "'labels':{" KAHU_LABELS "}},'data':{'password':'c2VjcmV0'}}");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- never restored ---- */

START_TEST(test_never_restored)
{
	struct restore_clean_opts o = opts();
	static const struct {
		const char *gr, *obj, *reason;
	} cases[] = {
		{ "nodes", "{'apiVersion':'v1','kind':'Node','metadata':{'name':'node-1'}}", "nodes belong" },
		{ "events", "{'apiVersion':'v1','kind':'Event','metadata':{'name':'e.17a','namespace':'a'}}", "events" },
		{ "events.events.k8s.io", "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'e','namespace':'a'}}", "events" },
		{ "csinodes.storage.k8s.io", "{'apiVersion':'storage.k8s.io/v1','kind':'CSINode','metadata':{'name':'node-1'}}", "CSI node" },
		{ "volumeattachments.storage.k8s.io", "{'apiVersion':'storage.k8s.io/v1','kind':'VolumeAttachment','metadata':{'name':'csi-1'}}", "volume attachments" },
		{ "componentstatuses", "{'apiVersion':'v1','kind':'ComponentStatus','metadata':{'name':'etcd-0'}}", "not an object" },
		{ "bindings", "{'apiVersion':'v1','kind':'Binding','metadata':{'name':'b','namespace':'a'}}", "not an object" },
		{ "tokenreviews.authentication.k8s.io", "{'apiVersion':'authentication.k8s.io/v1','kind':'TokenReview','metadata':{'name':'t'}}", "not an object" },
		{ "controllerrevisions.apps", "{'apiVersion':'apps/v1','kind':'ControllerRevision','metadata':{'name':'db-5d8f','namespace':'a'}}", "revisions" },
		{ "leases.coordination.k8s.io", "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':'node-1','namespace':'kube-node-lease'}}", "leases" },
		{ "leases.coordination.k8s.io", "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':'kube-scheduler','namespace':'kube-system'}}", "leases" },
		{ "pods", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'status':{'phase':'Succeeded'}}", "finished" },
		{ "pods", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'status':{'phase':'Failed'}}", "finished" },
		{ "pods", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'etcd-cp','namespace':'kube-system','annotations':{'kubernetes.io/config.mirror':'ab12'}},'status':{'phase':'Running'}}", "mirror pod" },
		{ "jobs.batch", "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'a'},'status':{'conditions':[{'type':'SuccessCriteriaMet','status':'True'},{'type':'Complete','status':'True'}]}}", "finished" },
		{ "jobs.batch", "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'a'},'status':{'conditions':[{'type':'Failed','status':'True','reason':'BackoffLimitExceeded'}]}}", "finished" },
		{ "apiservices.apiregistration.k8s.io", "{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':'v1.apps'},'spec':{'group':'apps','version':'v1','service':null,'groupPriorityMinimum':17800}}", "serves this API itself" },
		{ "apiservices.apiregistration.k8s.io", "{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':'v1.'},'spec':{'version':'v1'}}", "serves this API itself" },
		{ "services", "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubernetes','namespace':'default'},'spec':{'clusterIP':'10.96.0.1'}}", "API server's own" },
		{ "endpoints", "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'kubernetes','namespace':'default'}}", "API server's own" },
		{ "configmaps", "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'kube-root-ca.crt','namespace':'shop'},'data':{'ca.crt':'x'}}", "root CA" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_skip(cases[i].gr, &o, cases[i].obj, cases[i].reason);
	/* Neighbours of the rules are restored. */
	const char *keep[][2] = {
		{ "leases.coordination.k8s.io", "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':'my-operator','namespace':'shop'}}" },
		{ "pods", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},'status':{'phase':'Running'}}" },
		{ "jobs.batch", "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'a'},'status':{'conditions':[{'type':'Failed','status':'False'}]}}" },
		{ "apiservices.apiregistration.k8s.io", "{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':'v1beta1.metrics.k8s.io'},'spec':{'group':'metrics.k8s.io','version':'v1beta1','service':{'name':'metrics-server','namespace':'kube-system','port':443}}}" },
		{ "services", "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubernetes','namespace':'shop'}}" },
		{ "configmaps", "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'kube-proxy','namespace':'kube-system'}}" },
		{ "serviceaccounts", "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':'shop'}}" },
	};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		json_t *obj = J(keep[i][1]);
		const char *why = NULL;
		ck_assert_msg(restore_clean(obj, keep[i][0], &o, &why) == CLEAN_RESTORE, "%s: %s", keep[i][1], why);
		json_decref(obj);
	}
	restore_clean_opts_release(&o);
}
END_TEST

START_TEST(test_endpoints)
{
	struct restore_clean_opts o = opts();
	/* Maintained by the endpoints controller (a Service with a selector). */
	expect_skip("endpoints", &o,
		    "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','namespace':'shop','annotations':"
		    "{'endpoints.kubernetes.io/last-change-trigger-time':'2024-05-01T10:00:00Z'}},"
		    "'subsets':[{'addresses':[{'ip':'10.0.0.5'}],'ports':[{'port':8080}]}]}",
		    "endpoints controller");
	/* Written by the operator for a Service without a selector. */
	expect_clean("endpoints", &o,
		     "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'legacy-db','namespace':'shop'},"
		     "'subsets':[{'addresses':[{'ip':'192.168.1.10'}],'ports':[{'port':5432}]}]}",
		     "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'legacy-db','namespace':'shop','labels':{" KAHU_LABELS "}},"
		     "'subsets':[{'addresses':[{'ip':'192.168.1.10'}],'ports':[{'port':5432}]}]}");
	expect_skip("endpointslices.discovery.k8s.io", &o,
		    "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'web-x8fz2','namespace':'shop',"
		    "'labels':{'kubernetes.io/service-name':'web','endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'}},"
		    "'addressType':'IPv4','endpoints':[]}",
		    "EndpointSlice controllers");
	expect_skip("endpointslices.discovery.k8s.io", &o,
		    "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'legacy-db-abc','namespace':'shop',"
		    "'labels':{'kubernetes.io/service-name':'legacy-db','endpointslice.kubernetes.io/managed-by':'endpointslicemirroring-controller.k8s.io'}},"
		    "'addressType':'IPv4'}",
		    "EndpointSlice controllers");
	expect_skip("endpointslices.discovery.k8s.io", &o,
		    "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'kubernetes','namespace':'default',"
		    "'labels':{'kubernetes.io/service-name':'kubernetes'}},'addressType':'IPv4'}",
		    "API server's own");
	/* The operator's own slice for a selector-less Service. */
	expect_clean("endpointslices.discovery.k8s.io", &o,
		     "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'legacy-db-1','namespace':'shop',"
		     "'labels':{'kubernetes.io/service-name':'legacy-db'}},'addressType':'IPv4'}",
		     "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':'legacy-db-1','namespace':'shop',"
		     "'labels':{'kubernetes.io/service-name':'legacy-db'," KAHU_LABELS "}},'addressType':'IPv4'}");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- owned objects ---- */

#define OWNED(gr_kind_av, owner_av, owner_kind, controller)                                        \
	"{" gr_kind_av ",'metadata':{'name':'x-1','namespace':'a','ownerReferences':[{'apiVersion':'" \
	owner_av "','kind':'" owner_kind "','name':'x','uid':'6c1d','controller':" controller          \
	",'blockOwnerDeletion':true}]}}"

START_TEST(test_owned)
{
	struct restore_clean_opts o = opts();
	const char *pod = "'apiVersion':'v1','kind':'Pod'";
	const char *rs = "'apiVersion':'apps/v1','kind':'ReplicaSet'";
	const char *job = "'apiVersion':'batch/v1','kind':'Job'";
	char *in;
	static const struct {
		const char *gr, *owner_av, *owner_kind, *reason;
	} owned[] = {
		{ "pods", "apps/v1", "ReplicaSet", "ReplicaSet" },
		{ "pods", "apps/v1", "StatefulSet", "StatefulSet" },
		{ "pods", "apps/v1", "DaemonSet", "DaemonSet" },
		{ "pods", "batch/v1", "Job", "Job" },
		{ "replicasets.apps", "apps/v1", "Deployment", "Deployment" },
		{ "jobs.batch", "batch/v1", "CronJob", "CronJob" },
	};
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
		const char *head = strcmp(owned[i].gr, "pods") == 0 ? pod : strcmp(owned[i].gr, "jobs.batch") == 0 ? job : rs;
		in = xasprintf("{%s,'metadata':{'name':'x-1','namespace':'a','ownerReferences':[{'apiVersion':'%s',"
			       "'kind':'%s','name':'x','uid':'6c1d','controller':true,'blockOwnerDeletion':true}]}}",
			       head, owned[i].owner_av, owned[i].owner_kind);
		expect_skip(owned[i].gr, &o, in, owned[i].reason);
		expect_skip(owned[i].gr, &o, in, "--restore-owned");
		/* With restore_owned: restored, without the stale owner references. */
		o.restore_owned = 1;
		json_t *obj = J(in);
		ck_assert_int_eq(restore_clean(obj, owned[i].gr, &o, NULL), CLEAN_RESTORE);
		ck_assert_ptr_null(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"));
		json_decref(obj);
		o.restore_owned = 0;
		free(in);
	}
	/* Not a controller reference, or a controller kahu does not know (an operator's
	 * custom resource), or a kind of the same name in another group: restored. */
	expect_clean("pods", &o, OWNED("'apiVersion':'v1','kind':'Pod'", "apps/v1", "ReplicaSet", "false"),
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'x-1','namespace':'a','labels':{" KAHU_LABELS "}}}");
	expect_clean("pods", &o, OWNED("'apiVersion':'v1','kind':'Pod'", "example.com/v1", "Widget", "true"),
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'x-1','namespace':'a','labels':{" KAHU_LABELS "}}}");
	expect_clean("pods", &o, OWNED("'apiVersion':'v1','kind':'Pod'", "example.com/v1", "Job", "true"),
		     "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'x-1','namespace':'a','labels':{" KAHU_LABELS "}}}");
	expect_clean("deployments.apps", &o, OWNED("'apiVersion':'apps/v1','kind':'Deployment'", "example.com/v1", "App", "true"),
		     "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'x-1','namespace':'a','labels':{" KAHU_LABELS "}}}");
	/* ControllerRevisions stay out even with restore_owned. */
	o.restore_owned = 1;
	expect_skip("controllerrevisions.apps", &o,
		    OWNED("'apiVersion':'apps/v1','kind':'ControllerRevision'", "apps/v1", "StatefulSet", "true"), "revisions");
	restore_clean_opts_release(&o);
}
END_TEST

/* ---- namespace mapping ---- */

START_TEST(test_map_parse)
{
	struct ns_map *m = NULL;
	ck_assert_int_eq(ns_map_parse("shop:shop-copy, team-a : team-b ,x:shop-copy", &m), 0);
	ck_assert_uint_eq(ns_map_count(m), 3);
	ck_assert_str_eq(ns_map_target(m, "shop"), "shop-copy");
	ck_assert_str_eq(ns_map_target(m, "team-a"), "team-b");
	ck_assert_str_eq(ns_map_target(m, "x"), "shop-copy");
	ck_assert_str_eq(ns_map_target(m, "other"), "other");
	ck_assert_ptr_null(ns_map_target(m, NULL));
	ns_map_free(m);
	ck_assert_str_eq(ns_map_target(NULL, "a"), "a");
	ck_assert_uint_eq(ns_map_count(NULL), 0);
	ns_map_free(NULL);

	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "", "empty" },
		{ " , ", "empty" },
		{ "shop", "has no ':'" },
		{ "a:b:c", "more than one ':'" },
		{ "Shop:b", "the source namespace \"Shop\" has a character other than a-z, 0-9 and '-' ('S')" },
		{ "a:b_c", "the target namespace \"b_c\" has a character" },
		{ ":b", "the source namespace \"\" is empty" },
		{ "a:", "the target namespace \"\" is empty" },
		{ "-a:b", "must start and end" },
		{ "a:b-", "must start and end" },
		{ "a:b c", "the target namespace \"b c\" has a character other than a-z, 0-9 and '-' (' ')" },
		{ "a:0123456789012345678901234567890123456789012345678901234567890123", "longer than 63" },
		{ "a:b,c:d,a:e", "namespace a is mapped twice (to b and to e)" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m = (struct ns_map *)&m; /* must be reset */
		ck_assert_int_eq(ns_map_parse(bad[i].spec, &m), KAHU_EUSAGE);
		ck_assert_ptr_null(m);
		ck_assert_msg(strstr(kahu_error_last(), bad[i].msg), "\"%s\": message \"%s\" lacks \"%s\"", bad[i].spec,
			      kahu_error_last(), bad[i].msg);
	}
	ck_assert_int_eq(ns_map_parse(NULL, &m), KAHU_EUSAGE);
	/* 63 characters are fine. */
	ck_assert_int_eq(ns_map_parse("a:012345678901234567890123456789012345678901234567890123456789012", &m), 0);
	ns_map_free(m);
}
END_TEST

START_TEST(test_map_apply)
{
	struct ns_map *m = NULL;
	ck_assert_int_eq(ns_map_parse("shop:shop2,ops:ops2", &m), 0);
	struct restore_clean_opts o = opts();
	o.map = m;
	/* metadata.namespace */
	expect_clean("configmaps", &o,
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'shop'}}",
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'shop2','labels':{" KAHU_LABELS "}}}");
	expect_clean("configmaps", &o,
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'other'}}",
		     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'other','labels':{" KAHU_LABELS "}}}");
	/* Namespace objects: the name and the label that mirrors it. */
	expect_clean("namespaces", &o,
		     "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'shop','labels':{'kubernetes.io/metadata.name':'shop','team':'s'}},"
		     "'spec':{'finalizers':['kubernetes']},'status':{'phase':'Active'}}",
		     "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'shop2','labels':{'kubernetes.io/metadata.name':'shop2','team':'s'," KAHU_LABELS "}},"
		     "'spec':{'finalizers':['kubernetes']}}");
	/* RoleBinding and ClusterRoleBinding subjects. */
	expect_clean("rolebindings.rbac.authorization.k8s.io", &o,
		     "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'rb','namespace':'shop'},"
		     "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'r'},"
		     "'subjects':[{'kind':'ServiceAccount','name':'builder','namespace':'ops'},{'kind':'User','apiGroup':'rbac.authorization.k8s.io','name':'jane'},"
		     "{'kind':'ServiceAccount','name':'x','namespace':'elsewhere'}]}",
		     "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'rb','namespace':'shop2','labels':{" KAHU_LABELS "}},"
		     "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'r'},"
		     "'subjects':[{'kind':'ServiceAccount','name':'builder','namespace':'ops2'},{'kind':'User','apiGroup':'rbac.authorization.k8s.io','name':'jane'},"
		     "{'kind':'ServiceAccount','name':'x','namespace':'elsewhere'}]}");
	expect_clean("clusterrolebindings.rbac.authorization.k8s.io", &o,
		     "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding','metadata':{'name':'crb'},"
		     "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'view'},"
		     "'subjects':[{'kind':'ServiceAccount','name':'builder','namespace':'shop'}]}",
		     "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding','metadata':{'name':'crb','labels':{" KAHU_LABELS "}},"
		     "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'view'},"
		     "'subjects':[{'kind':'ServiceAccount','name':'builder','namespace':'shop2'}]}");
	/* PV claimRef. */
	expect_clean("persistentvolumes", &o,
		     "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1'},"
		     "'spec':{'claimRef':{'kind':'PersistentVolumeClaim','name':'data','namespace':'shop','uid':'u'}}}",
		     "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1','labels':{" KAHU_LABELS "}},"
		     "'spec':{'claimRef':{'kind':'PersistentVolumeClaim','name':'data','namespace':'shop2'}}}");
	/* Service references of webhooks, APIServices and CRD conversion webhooks. */
	expect_clean("validatingwebhookconfigurations.admissionregistration.k8s.io", &o,
		     "{'apiVersion':'admissionregistration.k8s.io/v1','kind':'ValidatingWebhookConfiguration','metadata':{'name':'shop-hook'},"
		     "'webhooks':[{'name':'v.shop.example.com','clientConfig':{'service':{'name':'hook','namespace':'shop','port':443}}},"
		     "{'name':'u.example.com','clientConfig':{'url':'https://hooks.example.com/'}}]}",
		     "{'apiVersion':'admissionregistration.k8s.io/v1','kind':'ValidatingWebhookConfiguration','metadata':{'name':'shop-hook','labels':{" KAHU_LABELS "}},"
		     "'webhooks':[{'name':'v.shop.example.com','clientConfig':{'service':{'name':'hook','namespace':'shop2','port':443}}},"
		     "{'name':'u.example.com','clientConfig':{'url':'https://hooks.example.com/'}}]}");
	json_t *obj = J("{'apiVersion':'admissionregistration.k8s.io/v1','kind':'MutatingWebhookConfiguration','metadata':{'name':'m'},"
			"'webhooks':[{'name':'m.x','clientConfig':{'service':{'name':'hook','namespace':'ops'}}}]}");
	ns_map_apply(m, obj);
	expect_json(obj, "{'apiVersion':'admissionregistration.k8s.io/v1','kind':'MutatingWebhookConfiguration','metadata':{'name':'m'},"
			 "'webhooks':[{'name':'m.x','clientConfig':{'service':{'name':'hook','namespace':'ops2'}}}]}");
	obj = J("{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':'v1.shop.example.com'},"
		"'spec':{'group':'shop.example.com','version':'v1','service':{'name':'api','namespace':'shop'}}}");
	ns_map_apply(m, obj);
	expect_json(obj, "{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':'v1.shop.example.com'},"
			 "'spec':{'group':'shop.example.com','version':'v1','service':{'name':'api','namespace':'shop2'}}}");
	obj = J("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{'name':'widgets.example.com'},"
		"'spec':{'conversion':{'strategy':'Webhook','webhook':{'clientConfig':{'service':{'name':'conv','namespace':'ops'}}}}}}");
	ns_map_apply(m, obj);
	expect_json(obj, "{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{'name':'widgets.example.com'},"
			 "'spec':{'conversion':{'strategy':'Webhook','webhook':{'clientConfig':{'service':{'name':'conv','namespace':'ops2'}}}}}}");
	/* Same field names in other kinds are left alone. */
	obj = J("{'apiVersion':'example.com/v1','kind':'Binding','metadata':{'name':'b','namespace':'other'},"
		"'subjects':[{'namespace':'shop'}],'spec':{'claimRef':{'namespace':'shop'}}}");
	ns_map_apply(m, obj);
	expect_json(obj, "{'apiVersion':'example.com/v1','kind':'Binding','metadata':{'name':'b','namespace':'other'},"
			 "'subjects':[{'namespace':'shop'}],'spec':{'claimRef':{'namespace':'shop'}}}");
	ns_map_apply(NULL, NULL);
	restore_clean_opts_release(&o);
	ns_map_free(m);
}
END_TEST

/* ---- API versions ---- */

static struct kube_discovery *target_discovery(void)
{
	struct kube_discovery *d = kube_discovery_new();
	const char *verbs = "['create','delete','get','list','patch','update','watch']";
	char *doc;
#define ADD(group, version, pref, resources)                                                          \
	doc = xasprintf("{\"kind\":\"APIResourceList\",\"resources\":[%s]}", resources);                \
	for (char *p = doc; *p; p++)                                                                     \
		if (*p == '\'')                                                                          \
			*p = '"';                                                                        \
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, group, version, pref, doc, strlen(doc)), 0); \
	free(doc)
	char *r;
	r = xasprintf("{'name':'configmaps','kind':'ConfigMap','namespaced':true,'verbs':%s},"
		      "{'name':'pods','kind':'Pod','namespaced':true,'verbs':%s},"
		      "{'name':'pods/exec','kind':'PodExecOptions','namespaced':true,'verbs':['create']},"
		      "{'name':'componentstatuses','kind':'ComponentStatus','namespaced':false,'verbs':['get','list']}",
		      verbs, verbs);
	ADD("", "v1", 1, r);
	free(r);
	r = xasprintf("{'name':'horizontalpodautoscalers','kind':'HorizontalPodAutoscaler','namespaced':true,'verbs':%s}", verbs);
	ADD("autoscaling", "v2", 1, r);
	ADD("autoscaling", "v1", 0, r);
	free(r);
	r = xasprintf("{'name':'ingresses','kind':'Ingress','namespaced':true,'verbs':%s}", verbs);
	ADD("networking.k8s.io", "v1", 1, r);
	free(r);
	/* A CRD served in v1beta1 and v1alpha1 (preferred: v1beta1), and another served
	 * in two versions of which the preferred one lacks the kind. */
	r = xasprintf("{'name':'widgets','kind':'Widget','namespaced':true,'verbs':%s}", verbs);
	ADD("example.com", "v1beta1", 1, r);
	ADD("example.com", "v1alpha1", 0, r);
	free(r);
	r = xasprintf("{'name':'gadgets','kind':'Gadget','namespaced':true,'verbs':%s}", verbs);
	ADD("tools.example.com", "v1alpha1", 0, r);
	ADD("tools.example.com", "v1beta2", 0, r);
	ADD("tools.example.com", "v1alpha2", 0, r);
	free(r);
	r = xasprintf("{'name':'spanners','kind':'Spanner','namespaced':true,'verbs':%s}", verbs);
	ADD("tools.example.com", "v2", 1, r);
	free(r);
	r = xasprintf("{'name':'deployments','kind':'Deployment','namespaced':true,'verbs':%s}", verbs);
	ADD("apps", "v1", 1, r);
	free(r);
#undef ADD
	return d;
}

static void expect_version(struct kube_discovery *d, const char *in_av, const char *kind, const char *want_av,
			   const char *want_resource)
{
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", in_av, "kind", kind, "metadata", "name",
				"x", "namespace", "a");
	const struct kube_resource *r = NULL;
	char *why = NULL;
	int rc = restore_pick_version(obj, d, &r, &why);
	ck_assert_msg(rc == 0, "%s %s: %s", in_av, kind, why ? why : kahu_error_last());
	ck_assert_ptr_null(why);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "apiVersion")), want_av);
	ck_assert_str_eq(r->resource, want_resource);
	char *gv = kube_api_version(r);
	ck_assert_str_eq(gv, want_av);
	free(gv);
	json_decref(obj);
}

static void expect_version_error(struct kube_discovery *d, const char *in_av, const char *kind, const char *want_msg)
{
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", in_av, "kind", kind, "metadata", "name", "x");
	const struct kube_resource *r = (const struct kube_resource *)d;
	char *why = NULL;
	ck_assert_int_eq(restore_pick_version(obj, d, &r, &why), KAHU_ENOTFOUND);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, want_msg);
	ck_assert_str_eq(kahu_error_last(), want_msg);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "apiVersion")), in_av);
	free(why);
	/* why may be NULL: the message is in the error. */
	ck_assert_int_eq(restore_pick_version(obj, d, &r, NULL), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), want_msg);
	json_decref(obj);
}

START_TEST(test_pick_version)
{
	struct kube_discovery *d = target_discovery();
	/* Served as stored. */
	expect_version(d, "v1", "ConfigMap", "v1", "configmaps");
	expect_version(d, "autoscaling/v1", "HorizontalPodAutoscaler", "autoscaling/v1", "horizontalpodautoscalers");
	expect_version(d, "example.com/v1alpha1", "Widget", "example.com/v1alpha1", "widgets");
	/* Not served any more: the group's preferred version. */
	expect_version(d, "autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers");
	expect_version(d, "example.com/v1", "Widget", "example.com/v1beta1", "widgets");
	expect_version(d, "apps/v1beta2", "Deployment", "apps/v1", "deployments");
	/* The preferred version lacks the kind: the most stable version that has it. */
	expect_version(d, "tools.example.com/v1", "Gadget", "tools.example.com/v1beta2", "gadgets");

	expect_version_error(d, "foo.example.com/v1", "Widget",
			     "the target cluster does not serve group foo.example.com (kind Widget, foo.example.com/v1): "
			     "restore its CRD first or include customresourcedefinitions");
	expect_version_error(d, "tools.example.com/v1", "Wrench",
			     "the target cluster serves group tools.example.com but no version of it serves kind Wrench "
			     "(it serves tools.example.com/v1alpha1, tools.example.com/v1alpha2, tools.example.com/v1beta2, "
			     "tools.example.com/v2)");
	expect_version_error(d, "extensions/v1beta1", "Ingress",
			     "the target cluster does not serve group extensions (kind Ingress, extensions/v1beta1): "
			     "Kubernetes removed this API or it is not enabled; kind Ingress is served as networking.k8s.io/v1 "
			     "(a different group: convert the object first)");
	expect_version_error(d, "policy/v1beta1", "PodSecurityPolicy",
			     "the target cluster does not serve group policy (kind PodSecurityPolicy, policy/v1beta1): "
			     "Kubernetes removed this API or it is not enabled");
	expect_version_error(d, "v1", "Widget",
			     "the target cluster serves group core but no version of it serves kind Widget (it serves v1)");
	/* Served, but not creatable. */
	expect_version_error(d, "v1", "ComponentStatus",
			     "the target cluster serves group core but no version of it serves kind ComponentStatus (it serves v1)");

	/* Malformed objects. */
	json_t *obj = J("{'kind':'ConfigMap','metadata':{'name':'c'}}");
	const struct kube_resource *r;
	char *why = NULL;
	ck_assert_int_eq(restore_pick_version(obj, d, &r, &why), KAHU_EDATA);
	ck_assert_ptr_null(why);
	json_decref(obj);
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_version_cmp)
{
	const char *order[] = { "v2", "v1", "v2beta2", "v2beta1", "v1beta1", "v3alpha1", "v1alpha2", "v1alpha1",
				"foo", "v1beta", "v1gamma1" };
	size_t n = sizeof order / sizeof order[0];
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(kube_version_cmp(order[i], order[i]), 0);
		for (size_t j = i + 1; j < n; j++) {
			ck_assert_msg(kube_version_cmp(order[i], order[j]) < 0, "%s before %s", order[i], order[j]);
			ck_assert_msg(kube_version_cmp(order[j], order[i]) > 0, "%s after %s", order[j], order[i]);
		}
	}
	ck_assert_int_lt(kube_version_cmp("v10", "v9"), 0);
}
END_TEST

/* ---- existing objects ---- */

static json_t *cleaned(const char *gr, const char *text)
{
	struct restore_clean_opts o = opts();
	json_t *obj = J(text);
	ck_assert_int_eq(restore_clean(obj, gr, &o, NULL), CLEAN_RESTORE);
	restore_clean_opts_release(&o);
	return obj;
}

#define DEPLOY_BACKUP                                                                                          \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop','uid':'old',"     \
	"'resourceVersion':'1','generation':7,'labels':{'app':'web'},'annotations':{'deployment.kubernetes.io/revision':'7'}}," \
	"'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'}},'strategy':{'type':'RollingUpdate'},"       \
	"'template':{'metadata':{'creationTimestamp':null,'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"   \
	"'image':'nginx:1.27','ports':[{'containerPort':80,'protocol':'TCP'}]}]}}},'status':{'replicas':3}}"

/* The same Deployment as another cluster's API server returns it: its own metadata,
 * status, revision and defaults the backup's server did not add. */
#define DEPLOY_LIVE(replicas, extra_label)                                                                     \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop','uid':'new',"     \
	"'resourceVersion':'99812','generation':1,'creationTimestamp':'2025-01-01T00:00:00Z',"                      \
	"'managedFields':[{'manager':'kubectl'}],'labels':{'app':'web'" extra_label "},"                           \
	"'annotations':{'deployment.kubernetes.io/revision':'1'}},"                                                \
	"'spec':{'replicas':" replicas ",'revisionHistoryLimit':10,'progressDeadlineSeconds':600,"                 \
	"'selector':{'matchLabels':{'app':'web'}},'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}}," \
	"'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web','image':'nginx:1.27',"  \
	"'imagePullPolicy':'IfNotPresent','terminationMessagePath':'/dev/termination-log',"                       \
	"'ports':[{'containerPort':80,'protocol':'TCP'}]}],'restartPolicy':'Always','dnsPolicy':'ClusterFirst',"     \
	"'schedulerName':'default-scheduler','securityContext':{}}}},"                                            \
	"'status':{'replicas':3,'readyReplicas':3,'conditions':[{'type':'Available','status':'True'}]}}"

START_TEST(test_same)
{
	json_t *b = cleaned("deployments.apps", DEPLOY_BACKUP);
	json_t *live = J(DEPLOY_LIVE("3", ""));
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	/* Extra labels on live, and kahu's labels from an earlier restore: still the same. */
	live = J(DEPLOY_LIVE("3", ",'owner':'ops','kahu.io/backup-name':'weekly','kahu.io/restore-name':'r0'"));
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	/* Scaled. */
	live = J(DEPLOY_LIVE("5", ""));
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	/* A label of the backup with another value. */
	live = J(DEPLOY_LIVE("3", ",'app':'web2'"));
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	json_decref(b);

	/* A Service: the target allocated its own cluster IP and node port. */
	b = cleaned("services", "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'shop'},"
				"'spec':{'type':'NodePort','clusterIP':'10.96.1.1','clusterIPs':['10.96.1.1'],'selector':{'app':'web'},"
				"'ports':[{'port':80,'protocol':'TCP','targetPort':8080,'nodePort':30001}]}}");
	live = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'shop','uid':'n'},"
		 "'spec':{'type':'NodePort','clusterIP':'10.43.7.7','clusterIPs':['10.43.7.7'],'selector':{'app':'web'},"
		 "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','sessionAffinity':'None','externalTrafficPolicy':'Cluster',"
		 "'ports':[{'port':80,'protocol':'TCP','targetPort':8080,'nodePort':31999}]},'status':{'loadBalancer':{}}}");
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	/* Another target port. */
	live = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'shop'},"
		 "'spec':{'type':'NodePort','clusterIP':'10.43.7.7','selector':{'app':'web'},"
		 "'ports':[{'port':80,'protocol':'TCP','targetPort':9090,'nodePort':31999}]}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	/* One port more. */
	live = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'shop'},"
		 "'spec':{'type':'NodePort','selector':{'app':'web'},'ports':[{'port':80,'protocol':'TCP','targetPort':8080},"
		 "{'port':81,'protocol':'TCP','targetPort':8081}]}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	json_decref(b);

	/* ConfigMap data compares exactly. */
	b = cleaned("configmaps", "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{'k':'v'}}");
	live = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a','resourceVersion':'5'},'data':{'k':'v'}}");
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	live = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{'k':'v','extra':'x'}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	live = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{'k':'w'}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	json_decref(b);
	b = cleaned("configmaps", "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'}}");
	live = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'a'},'data':{'k':'v'}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	json_decref(b);

	/* A pod: the target gave it its own token volume and node. */
	b = cleaned("pods", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},"
			    "'spec':{'nodeName':'n1','containers':[{'name':'c','image':'i','volumeMounts':[{'name':'kube-api-access-aaaaa','mountPath':'/s'}]}],"
			    "'volumes':[{'name':'kube-api-access-aaaaa','projected':{'sources':[]}}]}}");
	live = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'a'},"
		 "'spec':{'nodeName':'n7','containers':[{'name':'c','image':'i','volumeMounts':[{'name':'kube-api-access-zzzzz','mountPath':'/s'}]}],"
		 "'volumes':[{'name':'kube-api-access-zzzzz','projected':{'sources':[{'serviceAccountToken':{}}]}}]},"
		 "'status':{'phase':'Running'}}");
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	json_decref(b);

	/* A null in the backup is the same as an absent field. */
	b = J("{'apiVersion':'v1','kind':'X','metadata':{'name':'x'},'spec':{'a':null,'b':[1]}}");
	live = J("{'apiVersion':'v1','kind':'X','metadata':{'name':'x'},'spec':{'b':[1.0]}}");
	ck_assert_int_eq(restore_same(b, live), 1);
	json_decref(live);
	live = J("{'apiVersion':'v1','kind':'X','metadata':{'name':'x'},'spec':{'a':1,'b':[1]}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	json_decref(b);
}
END_TEST

START_TEST(test_merge_patch)
{
	json_t *b = cleaned("deployments.apps", DEPLOY_BACKUP);
	json_t *live = J(DEPLOY_LIVE("5", ",'owner':'ops','app':'old'"));
	expect_json(restore_merge_patch(b, live),
		    "{'metadata':{'labels':{'app':'web'," KAHU_LABELS "}},'spec':{'replicas':3}}");
	json_decref(live);
	/* Identical but for kahu's labels: the patch only sets those. */
	live = J(DEPLOY_LIVE("3", ""));
	expect_json(restore_merge_patch(b, live), "{'metadata':{'labels':{" KAHU_LABELS "}}}");
	json_decref(live);
	/* A container that differs: the array is replaced whole. */
	live = J(DEPLOY_LIVE("3", ""));
	json_t *c = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
		live, "spec"), "template"), "spec"), "containers"), 0);
	json_object_set_new(c, "image", json_string("nginx:1.25"));
	json_t *patch = restore_merge_patch(b, live);
	json_t *want_containers = json_object_get(json_object_get(json_object_get(json_object_get(
		b, "spec"), "template"), "spec"), "containers");
	ck_assert(json_equal(json_object_get(json_object_get(json_object_get(json_object_get(patch, "spec"), "template"),
								 "spec"), "containers"), want_containers));
	ck_assert_ptr_null(json_object_get(json_object_get(patch, "spec"), "replicas"));
	json_decref(patch);
	json_decref(live);
	json_decref(b);

	/* Data is replaced exactly; annotations of live are kept; top-level fields. */
	b = cleaned("secrets", "{'apiVersion':'v1','kind':'Secret','type':'Opaque','metadata':{'name':'s','namespace':'a',"
			       "'annotations':{'note':'from backup'}},'data':{'user':'YQ==','password':'cA=='}}");
	live = J("{'apiVersion':'v1','kind':'Secret','type':'Opaque','metadata':{'name':'s','namespace':'a',"
		 "'annotations':{'note':'changed','other':'x'}},'data':{'user':'YQ==','password':'cQ==','token':'dA=='}}");
	expect_json(restore_merge_patch(b, live),
		    "{'metadata':{'labels':{" KAHU_LABELS "},'annotations':{'note':'from backup'}},"
		    "'data':{'password':'cA==','token':null}}");
	ck_assert_int_eq(restore_same(b, live), 0);
	json_decref(live);
	/* Live without data at all. */
	live = J("{'apiVersion':'v1','kind':'Secret','type':'Opaque','metadata':{'name':'s','namespace':'a',"
		 "'annotations':{'note':'from backup'}}}");
	expect_json(restore_merge_patch(b, live),
		    "{'metadata':{'labels':{" KAHU_LABELS "}},'data':{'user':'YQ==','password':'cA=='}}");
	json_decref(live);
	json_decref(b);

	/* RBAC: top-level arrays. */
	b = cleaned("roles.rbac.authorization.k8s.io",
		    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'Role','metadata':{'name':'r','namespace':'a'},"
		    "'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get','list']}]}");
	live = J("{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'Role','metadata':{'name':'r','namespace':'a'},"
		 "'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get']}]}");
	expect_json(restore_merge_patch(b, live),
		    "{'metadata':{'labels':{" KAHU_LABELS "}},'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get','list']}]}");
	json_decref(live);
	json_decref(b);

	/* Non-objects give an empty patch rather than crash. */
	live = J("[1]");
	expect_json(restore_merge_patch(live, live), "{}");
	ck_assert_int_eq(restore_same(live, live), 1);
	json_decref(live);
}
END_TEST

static Suite *sanitize_suite(void)
{
	Suite *s = suite_create("sanitize");
	TCase *tc = tcase_create("clean");
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_status_include);
	tcase_add_test(tc, test_label_values);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_service_cluster_ip);
	tcase_add_test(tc, test_service_node_ports);
	tcase_add_test(tc, test_pv);
	tcase_add_test(tc, test_pvc);
	tcase_add_test(tc, test_pod);
	tcase_add_test(tc, test_job);
	tcase_add_test(tc, test_service_account);
	tcase_add_test(tc, test_token_secrets);
	tcase_add_test(tc, test_never_restored);
	tcase_add_test(tc, test_endpoints);
	tcase_add_test(tc, test_owned);
	suite_add_tcase(s, tc);
	tc = tcase_create("map");
	tcase_add_test(tc, test_map_parse);
	tcase_add_test(tc, test_map_apply);
	suite_add_tcase(s, tc);
	tc = tcase_create("version");
	tcase_add_test(tc, test_pick_version);
	tcase_add_test(tc, test_version_cmp);
	suite_add_tcase(s, tc);
	tc = tcase_create("existing");
	tcase_add_test(tc, test_same);
	tcase_add_test(tc, test_merge_patch);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(sanitize_suite)
