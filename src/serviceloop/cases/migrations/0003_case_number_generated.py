"""The case number becomes a column the database computes from the id (``SL-000042``).

A column cannot be altered into a generated one, so it is dropped and added again; existing rows
get the same numbers they had, since they were made from the id in the same format.
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_case_constraints"),
    ]

    operations = [
        migrations.RemoveField(model_name="case", name="number"),
        migrations.AddField(
            model_name="case",
            name="number",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    models.Value("SL-"),
                    models.Case(
                        models.When(
                            id__lt=1000000,
                            then=django.db.models.functions.text.LPad(
                                django.db.models.functions.comparison.Cast(
                                    "id", models.CharField(max_length=20)
                                ),
                                6,
                                models.Value("0"),
                            ),
                        ),
                        default=django.db.models.functions.comparison.Cast(
                            "id", models.CharField(max_length=20)
                        ),
                    ),
                    output_field=models.CharField(max_length=23),
                ),
                output_field=models.CharField(max_length=23, unique=True, verbose_name="number"),
            ),
        ),
    ]
