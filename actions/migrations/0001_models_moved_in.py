# Hand-written for the layout move (issue 16), from makemigrations' operations.
"""The actions' models, moved from the costs app with their tables and rows."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ['instanceaction', 'autostoppolicy', 'autostopnotice', 'realisedsaving']


def move_content_types(apps, schema_editor, source="costs", target="actions"):
    """Permissions and admin history follow the models: the same rows, another app label."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    for model in MOVED:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="actions", target="costs")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0005_role_arn_help_text_escaped'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('costs', '0007_models_moved_out'),
        ('findings', '0001_models_moved_in'),
        ('fleet', '0001_models_moved_in'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (costs created them, costs_*); only Django's idea of their app moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.CreateModel(
                        name='AutoStopPolicy',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('enabled', models.BooleanField(default=False)),
                            ('idle_days', models.PositiveSmallIntegerField(default=7, help_text='Days an idle recommendation must have stood open before the announcement.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)])),
                            ('grace_hours', models.PositiveSmallIntegerField(default=24, help_text='Hours between the announcement e-mail and the stop.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(720)])),
                            ('dry_run', models.BooleanField(default=True, help_text='Announce and report what would be stopped, but never stop anything.')),
                            ('updated_at', models.DateTimeField(auto_now=True)),
                        ],
                        options={
                            'verbose_name': 'auto-stop policy',
                            'verbose_name_plural': 'auto-stop policies',
                            'db_table': 'costs_autostoppolicy',
                            'ordering': ['account'],
                        },
                    ),
                    migrations.CreateModel(
                        name='InstanceAction',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('aws_instance_id', models.CharField(max_length=32, verbose_name='instance ID')),
                            ('region', models.CharField(max_length=32)),
                            ('action', models.CharField(choices=[('stop', 'Stop'), ('start', 'Start')], max_length=5)),
                            ('actor_label', models.CharField(help_text='The username at the time, or "auto-stop policy".', max_length=150)),
                            ('reason', models.CharField(blank=True, max_length=300)),
                            ('monthly_saving', models.DecimalField(decimal_places=2, default=0, help_text='What this stop saves a month while the instance stays stopped: the figure of the recommendation it applied (0 when it applied none). Realised savings accrue from it.', max_digits=12)),
                            ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('finished_at', models.DateTimeField(blank=True, null=True)),
                            ('result', models.CharField(choices=[('succeeded', 'Succeeded'), ('refused', 'refused by Spendlens'), ('failed', 'failed (AWS error)'), ('no_op', 'nothing to do'), ('dry_run', 'dry run (nothing changed)')], max_length=10)),
                            ('message', models.TextField(blank=True)),
                            ('error_code', models.CharField(blank=True, max_length=100, verbose_name='AWS error code')),
                            ('state_before', models.CharField(blank=True, max_length=16)),
                            ('state_after', models.CharField(blank=True, max_length=16)),
                        ],
                        options={
                            'db_table': 'costs_instanceaction',
                            'ordering': ['-requested_at', '-pk'],
                        },
                    ),
                    migrations.CreateModel(
                        name='AutoStopNotice',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('dry_run', models.BooleanField(help_text='Announced in dry-run mode: a real run never stops on a dry-run announcement.')),
                            ('status', models.CharField(choices=[('pending', 'announced, waiting for the grace period'), ('stopping', 'being stopped now'), ('stopped', 'Stopped'), ('would_stop', 'would have been stopped (dry run)'), ('cancelled', 'Cancelled'), ('failed', 'Failed')], default='pending', max_length=10)),
                            ('announced_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('stop_after', models.DateTimeField()),
                            ('recipients', models.JSONField(blank=True, default=list)),
                            ('finished_at', models.DateTimeField(blank=True, null=True)),
                            ('outcome', models.TextField(blank=True)),
                            ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auto_stop_notices', to='accounts.cloudaccount')),
                        ],
                        options={
                            'db_table': 'costs_autostopnotice',
                            'ordering': ['-announced_at'],
                        },
                    ),
                    migrations.AddField(
                        model_name='autostopnotice',
                        name='instance',
                        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auto_stop_notices', to='fleet.instance'),
                    ),
                    migrations.AddField(
                        model_name='autostopnotice',
                        name='recommendation',
                        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auto_stop_notices', to='findings.recommendation'),
                    ),
                    migrations.AddField(
                        model_name='autostoppolicy',
                        name='account',
                        field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='auto_stop_policy', to='accounts.cloudaccount'),
                    ),
                    migrations.AddField(
                        model_name='instanceaction',
                        name='account',
                        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='instance_actions', to='accounts.cloudaccount'),
                    ),
                    migrations.AddField(
                        model_name='instanceaction',
                        name='actor',
                        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='instance_actions', to=settings.AUTH_USER_MODEL),
                    ),
                    migrations.AddField(
                        model_name='instanceaction',
                        name='instance',
                        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='actions', to='fleet.instance'),
                    ),
                    migrations.AddField(
                        model_name='instanceaction',
                        name='organization',
                        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='instance_actions', to='accounts.organization'),
                    ),
                    migrations.AddField(
                        model_name='instanceaction',
                        name='recommendation',
                        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='actions', to='findings.recommendation'),
                    ),
                    migrations.AddField(
                        model_name='autostopnotice',
                        name='action',
                        field=models.ForeignKey(blank=True, help_text='The stop attempt this notice led to.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='actions.instanceaction'),
                    ),
                    migrations.CreateModel(
                        name='RealisedSaving',
                        fields=[
                        ],
                        options={
                            'verbose_name': 'realised saving',
                            'proxy': True,
                            'indexes': [],
                            'constraints': [],
                        },
                        bases=('actions.instanceaction',),
                    ),
                    migrations.AddIndex(
                        model_name='instanceaction',
                        index=models.Index(fields=['organization', '-requested_at'], name='action_org_recent'),
                    ),
                    migrations.AddIndex(
                        model_name='instanceaction',
                        index=models.Index(fields=['instance', '-requested_at'], name='action_instance_recent'),
                    ),
                    migrations.AddIndex(
                        model_name='autostopnotice',
                        index=models.Index(fields=['account', 'status'], name='autostop_account_status'),
                    ),
                    migrations.AddConstraint(
                        model_name='autostopnotice',
                        constraint=models.UniqueConstraint(fields=('recommendation', 'dry_run'), name='one_auto_stop_notice_per_recommendation'),
                    ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
