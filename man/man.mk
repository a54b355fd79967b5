dist_man_MANS += man/kahu.1 man/kahu-cluster.1 man/kahu-key.1 man/kahu-backup.1 man/kahu-restore.1 man/kahu-location.1
dist_man_MANS += man/kahu-backend.7
dist_man_MANS += man/kahu-provider.1 man/kahu-config.5
dist_man_MANS += man/kahu-hooks.5
dist_man_MANS += man/kahu-transform.5
dist_man_MANS += man/kahu-volume-policy.5
dist_man_MANS += man/kahu-plan.1 man/kahu-plan.5
dist_man_MANS += man/kahu-mover.1
