# Hand-written for the layout move (issue 16), from makemigrations' operations.
"""The fleet's models, moved from the costs app with their tables and rows."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED = ['instance', 'volume', 'elasticip', 'utilizationday']


def move_content_types(apps, schema_editor, source="costs", target="fleet"):
    """Permissions and admin history follow the models: the same rows, another app label."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    for model in MOVED:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="fleet", target="costs")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0005_role_arn_help_text_escaped'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('costs', '0007_models_moved_out'),
    ]

    operations = [
        # The tables exist (costs created them, costs_*); only Django's idea of their app moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.CreateModel(
                        name='Instance',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('region', models.CharField(max_length=32)),
                            ('tags', models.JSONField(blank=True, default=dict)),
                            ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('last_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('gone_at', models.DateTimeField(blank=True, help_text='When the resource was no longer found in AWS.', null=True)),
                            ('instance_id', models.CharField(max_length=32, verbose_name='instance ID')),
                            ('name', models.CharField(blank=True, max_length=256)),
                            ('instance_type', models.CharField(max_length=32)),
                            ('state', models.CharField(max_length=16)),
                            ('state_since', models.DateTimeField(blank=True, help_text='When the instance entered its current state.', null=True)),
                            ('launch_time', models.DateTimeField(blank=True, null=True)),
                            ('platform', models.CharField(blank=True, help_text='e.g. Linux/UNIX, Windows', max_length=64)),
                            ('lifecycle', models.CharField(choices=[('on-demand', 'On Demand'), ('spot', 'Spot'), ('scheduled', 'Scheduled'), ('capacity-block', 'Capacity Block')], default='on-demand', max_length=16)),
                            ('root_device_type', models.CharField(blank=True, max_length=16)),
                            ('auto_scaling_group', models.CharField(blank=True, max_length=256)),
                            ('verdict', models.CharField(blank=True, help_text="The last idle detection's conclusion.", max_length=20)),
                            ('verdict_evidence', models.JSONField(blank=True, default=dict)),
                            ('verdict_at', models.DateTimeField(blank=True, null=True)),
                            ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='accounts.cloudaccount')),
                        ],
                        options={
                            'db_table': 'costs_instance',
                            'ordering': ['account', 'name', 'instance_id'],
                        },
                    ),
                    migrations.CreateModel(
                        name='UtilizationDay',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('day', models.DateField()),
                            ('hours', models.PositiveSmallIntegerField(help_text='Hours with CPU data (24 = complete).')),
                            ('cpu_avg', models.FloatField(help_text='Mean of the hourly average CPU %.')),
                            ('cpu_max', models.FloatField(help_text='Highest hourly maximum CPU %.')),
                            ('cpu_p95', models.FloatField(help_text='95th percentile of the hourly average CPU %.')),
                            ('cpu_peak_hour_avg', models.FloatField(default=0, help_text='Highest hourly average CPU % (a sustained hour, not a spike).')),
                            ('network_hours', models.PositiveSmallIntegerField(blank=True, help_text='Hours with both NetworkIn and NetworkOut data (24 = complete; empty: not tracked when the row was written).', null=True)),
                            ('network_bytes', models.BigIntegerField(blank=True, help_text='NetworkIn + NetworkOut over the hours with data; empty when there were none.', null=True)),
                            ('memory_max', models.FloatField(blank=True, help_text='Highest hourly memory % (CloudWatch agent), if any.', null=True)),
                            ('instance', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='utilization', to='fleet.instance')),
                        ],
                        options={
                            'db_table': 'costs_utilizationday',
                            'ordering': ['instance', 'day'],
                        },
                    ),
                    migrations.CreateModel(
                        name='Volume',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('region', models.CharField(max_length=32)),
                            ('tags', models.JSONField(blank=True, default=dict)),
                            ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('last_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('gone_at', models.DateTimeField(blank=True, help_text='When the resource was no longer found in AWS.', null=True)),
                            ('volume_id', models.CharField(max_length=32, verbose_name='volume ID')),
                            ('volume_type', models.CharField(max_length=16)),
                            ('size_gib', models.PositiveIntegerField()),
                            ('iops', models.PositiveIntegerField(blank=True, null=True)),
                            ('state', models.CharField(max_length=16)),
                            ('attached_instance_id', models.CharField(blank=True, max_length=32)),
                            ('created_at', models.DateTimeField(blank=True, null=True)),
                            ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='accounts.cloudaccount')),
                        ],
                        options={
                            'db_table': 'costs_volume',
                            'ordering': ['account', 'volume_id'],
                        },
                    ),
                    migrations.CreateModel(
                        name='ElasticIP',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('region', models.CharField(max_length=32)),
                            ('tags', models.JSONField(blank=True, default=dict)),
                            ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('last_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('gone_at', models.DateTimeField(blank=True, help_text='When the resource was no longer found in AWS.', null=True)),
                            ('allocation_id', models.CharField(max_length=64, verbose_name='allocation ID')),
                            ('public_ip', models.GenericIPAddressField()),
                            ('association_id', models.CharField(blank=True, max_length=64)),
                            ('instance_id', models.CharField(blank=True, max_length=32)),
                            ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='accounts.cloudaccount')),
                        ],
                        options={
                            'verbose_name': 'Elastic IP',
                            'db_table': 'costs_elasticip',
                            'ordering': ['account', 'public_ip'],
                            'constraints': [models.UniqueConstraint(fields=('account', 'allocation_id'), name='unique_eip')],
                        },
                    ),
                    migrations.AddConstraint(
                        model_name='instance',
                        constraint=models.UniqueConstraint(fields=('account', 'instance_id'), name='unique_instance'),
                    ),
                    migrations.AddConstraint(
                        model_name='utilizationday',
                        constraint=models.UniqueConstraint(fields=('instance', 'day'), name='unique_utilization_day'),
                    ),
                    migrations.AddConstraint(
                        model_name='volume',
                        constraint=models.UniqueConstraint(fields=('account', 'volume_id'), name='unique_volume'),
                    ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
