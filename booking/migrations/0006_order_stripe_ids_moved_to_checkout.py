# The Stripe identifiers now live on checkout.Payment; checkout 0002 copied them there first.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_order_basket_version"),
        ("checkout", "0002_payment"),
    ]

    operations = [
        migrations.RemoveField(model_name="order", name="stripe_payment_intent"),
        migrations.RemoveField(model_name="order", name="stripe_session_id"),
    ]
