from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0004_order_client_ip"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="basket_version",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
