<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise companies (GET /company/companies) → Sage 50 UK customer records, Zynk schema:
  Company/Customers/Customer. Id is CW-CO-<company id>, the same Id the invoices stylesheet
  gives a customer, so a company changed in ConnectWise updates its Sage account instead of
  creating a second one (currency is fixed once the account exists, as in Sage).
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:template match="/cwsage">
    <Company>
      <Customers>
        <xsl:apply-templates select="export/records/item"/>
      </Customers>
    </Company>
  </xsl:template>

  <xsl:template match="records/item">
    <Customer>
      <Id><xsl:value-of select="@key"/></Id>
      <AccountReference><xsl:call-template name="upper"><xsl:with-param name="value" select="accountNumber"/></xsl:call-template></AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="name"/></xsl:call-template></CompanyName>
      <CustomerInvoiceAddress>
        <xsl:call-template name="address"><xsl:with-param name="company" select="."/></xsl:call-template>
        <Country>
          <xsl:choose>
            <xsl:when test="string-length(country/identifier) = 2"><xsl:value-of select="country/identifier"/></xsl:when>
            <xsl:otherwise>GB</xsl:otherwise>
          </xsl:choose>
        </Country>
        <Telephone><xsl:call-template name="text"><xsl:with-param name="value" select="phoneNumber"/><xsl:with-param name="max" select="30"/></xsl:call-template></Telephone>
        <xsl:if test="normalize-space(website) != ''">
          <Website><xsl:call-template name="text"><xsl:with-param name="value" select="website"/><xsl:with-param name="max" select="255"/></xsl:call-template></Website>
        </xsl:if>
      </CustomerInvoiceAddress>
      <xsl:if test="normalize-space(taxIdentifier) != ''">
        <VatNumber><xsl:call-template name="text"><xsl:with-param name="value" select="taxIdentifier"/><xsl:with-param name="max" select="20"/></xsl:call-template></VatNumber>
      </xsl:if>
      <Currency><xsl:value-of select="(currency/currencyCode | currency/isoCode)[1]"/></Currency>
    </Customer>
  </xsl:template>

</xsl:stylesheet>
