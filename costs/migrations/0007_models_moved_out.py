# Hand-written for the layout move (issue 16), from makemigrations' operations.
"""The fleet's, findings' and actions' models leave the costs app for their own apps.

State only: the tables (costs_instance, costs_recommendation, ...) and their rows stay where
they are; fleet, findings and actions 0001 take the models over with the same db_table.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('costs', '0006_utilization_network_coverage'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.RemoveField(
                        model_name='autostopnotice',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='autostopnotice',
                        name='action',
                    ),
                    migrations.RemoveField(
                        model_name='autostopnotice',
                        name='instance',
                    ),
                    migrations.RemoveField(
                        model_name='autostopnotice',
                        name='recommendation',
                    ),
                    migrations.RemoveField(
                        model_name='autostoppolicy',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='detectionsettings',
                        name='organization',
                    ),
                    migrations.RemoveField(
                        model_name='elasticip',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='instance',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='recommendation',
                        name='instance',
                    ),
                    migrations.RemoveField(
                        model_name='instanceaction',
                        name='instance',
                    ),
                    migrations.RemoveField(
                        model_name='utilizationday',
                        name='instance',
                    ),
                    migrations.RemoveField(
                        model_name='instanceaction',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='instanceaction',
                        name='actor',
                    ),
                    migrations.RemoveField(
                        model_name='instanceaction',
                        name='organization',
                    ),
                    migrations.RemoveField(
                        model_name='instanceaction',
                        name='recommendation',
                    ),
                    migrations.RemoveField(
                        model_name='recommendation',
                        name='account',
                    ),
                    migrations.RemoveField(
                        model_name='volume',
                        name='account',
                    ),
                    migrations.DeleteModel(
                        name='RealisedSaving',
                    ),
                    migrations.DeleteModel(
                        name='AutoStopNotice',
                    ),
                    migrations.DeleteModel(
                        name='AutoStopPolicy',
                    ),
                    migrations.DeleteModel(
                        name='DetectionSettings',
                    ),
                    migrations.DeleteModel(
                        name='ElasticIP',
                    ),
                    migrations.DeleteModel(
                        name='Instance',
                    ),
                    migrations.DeleteModel(
                        name='UtilizationDay',
                    ),
                    migrations.DeleteModel(
                        name='InstanceAction',
                    ),
                    migrations.DeleteModel(
                        name='Recommendation',
                    ),
                    migrations.DeleteModel(
                        name='Volume',
                    ),
            ],
        ),
    ]
