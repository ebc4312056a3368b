"""factory_boy factories with readable defaults."""

import factory
from django.contrib.auth import get_user_model

from consent.models import DataCategory, Purpose
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from customers.services.assets import asset_customer_counts_refresh


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = "Person"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    phone = "+47 22 00 00 00"
    country = "NO"


class DataAssetFactory(factory.django.DjangoModelFactory):
    """An asset as a newly registered one is: confidential and unconfirmed.

    ``customers=N`` adds N new customers; ``categories`` and ``collected_for`` take keys.
    """

    class Meta:
        model = DataAsset
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Asset {n}")
    description = "Customers of a test system."
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def customers(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        customers = (
            CustomerFactory.create_batch(extracted) if isinstance(extracted, int) else extracted
        )
        AssetCustomer.objects.bulk_create(
            [AssetCustomer(asset=self, customer=c) for c in customers]
        )
        asset_customer_counts_refresh([self.pk])
        self.refresh_from_db(fields=["customer_count"])

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.data_categories.set(DataCategory.objects.filter(key__in=extracted))

    @factory.post_generation
    def collected_for(self, create, extracted, **kwargs):
        if create and extracted:
            self.collected_for.set(Purpose.objects.filter(key__in=extracted))
