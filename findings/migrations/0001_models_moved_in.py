# Hand-written for the layout move (issue 16), from makemigrations' operations.
"""The findings' models, moved from the costs app with their tables and rows."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED = ['detectionsettings', 'recommendation']


def move_content_types(apps, schema_editor, source="costs", target="findings"):
    """Permissions and admin history follow the models: the same rows, another app label."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    for model in MOVED:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="findings", target="costs")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0005_role_arn_help_text_escaped'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('costs', '0007_models_moved_out'),
        ('fleet', '0001_models_moved_in'),
    ]

    operations = [
        # The tables exist (costs created them, costs_*); only Django's idea of their app moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.CreateModel(
                        name='DetectionSettings',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('lookback_days', models.PositiveSmallIntegerField(default=14)),
                            ('min_coverage_percent', models.PositiveSmallIntegerField(default=90, help_text='Share of lookback hours that must have CPU data, and network data, to decide.')),
                            ('idle_cpu_avg_percent', models.FloatField(default=10.0, help_text='Trusted Advisor: daily average CPU at or below this is low.')),
                            ('idle_network_mb_per_day', models.FloatField(default=5.0, help_text='Trusted Advisor: daily network I/O at or below this is low.')),
                            ('idle_cpu_peak_percent', models.FloatField(default=20.0, help_text='No hour may average more CPU than this: an hour of real work is not idle.')),
                            ('idle_days_percent', models.PositiveSmallIntegerField(default=100, help_text='Share of days with data that must be idle (100 = every day).')),
                            ('rightsize_cpu_p95_percent', models.FloatField(default=40.0, help_text='p95 of hourly CPU below this suggests the next smaller size.')),
                            ('memory_fit_percent', models.FloatField(default=80.0, help_text='Projected peak memory on the smaller size must stay below this.')),
                            ('protect_tag', models.CharField(default='spendlens:protect=true', help_text='key=value; instances with this tag are never recommended for stopping.', max_length=128)),
                            ('stopped_volume_days', models.PositiveSmallIntegerField(default=30, help_text='Volumes of instances stopped longer than this are flagged.')),
                            ('organization', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='detection_settings', to='accounts.organization')),
                        ],
                        options={
                            'verbose_name_plural': 'detection settings',
                            'db_table': 'costs_detectionsettings',
                        },
                    ),
                    migrations.CreateModel(
                        name='Recommendation',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('kind', models.CharField(choices=[('idle_instance', 'Idle instance: stop it'), ('idle_asg_member', 'Idle Auto Scaling member: shrink the group'), ('rightsize', 'Oversized instance: move to a smaller type'), ('unattached_volume', 'Unattached EBS volume'), ('gp2_volume', 'gp2 volume: migrate to gp3'), ('unassociated_eip', 'Unassociated Elastic IP'), ('stopped_instance_volume', 'Volume of a long-stopped instance')], max_length=32)),
                            ('resource_id', models.CharField(max_length=64)),
                            ('region', models.CharField(max_length=32)),
                            ('status', models.CharField(choices=[('open', 'Open'), ('dismissed', 'Dismissed'), ('resolved', 'Resolved'), ('applied', 'Applied')], default='open', max_length=10)),
                            ('summary', models.CharField(max_length=300)),
                            ('action', models.TextField(help_text='What to do, in words.')),
                            ('target_type', models.CharField(blank=True, max_length=32)),
                            ('monthly_saving', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                            ('saving_basis', models.CharField(choices=[('billed', "the resource's billed cost (last 30 days)"), ('price_table', 'the on-demand price table')], max_length=12)),
                            ('evidence', models.JSONField(default=dict, help_text='The figures that decided it.')),
                            ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('resolved_at', models.DateTimeField(blank=True, null=True)),
                            ('dismissed_reason', models.CharField(blank=True, max_length=300)),
                            ('snoozed_until', models.DateField(blank=True, help_text='A dismissed recommendation reopens after this date.', null=True)),
                            ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recommendations', to='accounts.cloudaccount')),
                        ],
                        options={
                            'db_table': 'costs_recommendation',
                            'ordering': ['-monthly_saving', 'resource_id'],
                        },
                    ),
                    migrations.AddField(
                        model_name='recommendation',
                        name='instance',
                        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='recommendations', to='fleet.instance'),
                    ),
                    migrations.AddIndex(
                        model_name='recommendation',
                        index=models.Index(fields=['account', 'status'], name='rec_account_status'),
                    ),
                    migrations.AddConstraint(
                        model_name='recommendation',
                        constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['open', 'dismissed'])), fields=('account', 'kind', 'resource_id'), name='one_live_recommendation_per_resource_and_kind'),
                    ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
